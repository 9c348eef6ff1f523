"""docs/deploy-azure.md agrees with the code: the worker and beat run where nothing probes them over HTTP,
each app runs a command main.py has with settings the code reads, and the smoke folder is the collection's."""

from __future__ import annotations

import re
import shlex

from core.config import ENVIRONMENT_VARIABLES
from main import build_parser
from tests.conftest import ROOT
from tests.postman import SMOKE_FOLDER, folders, load

GUIDE = (ROOT / "docs" / "deploy-azure.md").read_text(encoding="utf-8")


def commands() -> list[list[str]]:
    """Every command of the guide's bash blocks, continuation lines joined, as shell words."""
    blocks = re.findall(r"^```bash\n(.*?)^```", GUIDE, re.MULTILINE | re.DOTALL)
    found = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                found.append(words)
    return found


def az(*verb: str) -> list[list[str]]:
    return [words for words in commands() if words[: len(verb) + 1] == ["az", *verb]]


def option(words: list[str], name: str) -> list[str]:
    """The values after ``name``, up to the next option."""
    if name not in words:
        return []
    values = []
    for word in words[words.index(name) + 1 :]:
        if word.startswith("--"):
            break
        values.append(word)
    return values


def main_py_commands() -> set[str]:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return set(subparsers.choices)


def container_app(name: str) -> list[str]:
    [found] = [words for words in az("containerapp", "create") if option(words, "--name") == [name]]
    return found


def test_only_the_web_server_runs_on_app_service():
    created = [option(words, "--name") for words in az("webapp", "create")]

    assert created == [["$WEB"]]
    assert all("--startup-file" not in words for words in az("webapp", "config", "set"))


def test_the_worker_and_beat_are_container_apps_without_ingress_running_main_py_commands():
    for name, command in (("$WORKER", "worker"), ("$BEAT", "beat")):
        app = container_app(name)

        assert option(app, "--command") == ["python", "main.py", command]
        assert command in main_py_commands()
        assert not any(word.startswith("--ingress") or word == "--target-port" for word in app), app
        assert option(app, "--min-replicas") == ["1"]


def test_beat_runs_exactly_once():
    assert option(container_app("$BEAT"), "--max-replicas") == ["1"]


def test_the_worker_scales_on_the_celery_queue_in_redis():
    from infra.broker.celery_app import QUEUE_NAME

    worker = container_app("$WORKER")

    assert option(worker, "--scale-rule-type") == ["redis"]
    assert f"listName={QUEUE_NAME}" in option(worker, "--scale-rule-metadata")


def test_every_setting_the_guide_gives_an_app_is_one_the_code_reads():
    given = set()
    for words in az("webapp", "config", "appsettings", "set"):
        given |= {value.split("=", 1)[0] for value in option(words, "--settings")}
    settings_array = re.search(r"^SETTINGS=\((.*?)\)", GUIDE, re.MULTILINE | re.DOTALL)
    assert settings_array
    given |= {value.split("=", 1)[0] for value in shlex.split(settings_array[1])}

    assert {"DATABASE_URL", "CELERY_BROKER_URL", "AZURE_STORAGE_CONNECTION_STRING"} <= given
    assert sorted(given - set(ENVIRONMENT_VARIABLES)) == []


def test_the_guide_names_the_smoke_folder_and_runs_it_alone_with_newman():
    collection = load()
    newman = [words for words in commands() if words[0].endswith("newman")]

    assert SMOKE_FOLDER in folders(collection)
    assert [option(words, "--folder") for words in newman] == [[SMOKE_FOLDER]]
    assert "Full run 1" in GUIDE and "never production" in GUIDE
