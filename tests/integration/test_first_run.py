"""What ``make run`` does before it starts the service, on an empty database: the dashboard's first view has data."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, hireflow_environ
from tests.integration.test_cli import run_cli


def make_run_steps() -> list[list[str]]:
    """The ``main.py`` commands of the Makefile's ``run`` recipe before the last one, which starts the service."""
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nrun:", 1)[1].split("\n\n", 1)[0]
    steps = [shlex.split(line) for line in recipe.splitlines()[1:] if line.startswith("\t")]
    assert steps[-1] == ["$(PY)", "main.py", "run"]
    assert all(step[:2] == ["$(PY)", "main.py"] for step in steps)
    return [step[2:] for step in steps[:-1]]


def report(env: dict[str, str], name: str) -> dict[str, Any]:
    printed = run_cli("report", name, "--year", "2021", "--format", "json", env=env)
    assert printed.returncode == 0, printed.stderr
    return dict(json.loads(printed.stdout))


def test_make_run_loads_the_sample_into_an_empty_database_as_one_ingest_task_and_both_reports_have_rows(
    client: Any, tmp_path: Path, database_url: str
) -> None:
    env = hireflow_environ(tmp_path, database_url)
    for step in make_run_steps():
        done = run_cli(*step, env=env)
        assert done.returncode == 0, (step, done.stderr)

    tasks = client.get("/task-list").get_json()
    assert [(t["kind"], t["state"]) for t in tasks["items"]] == [("ingest", "SUCCESS")]
    counts = tasks["items"][0]["counts"]["hired_employees"]
    assert counts["inserted"] > 0 and counts["inserted"] + counts["rejected"] == counts["processed"]
    assert report(env, "hired-by-quarter")["rows"]
    assert report(env, "hiring-above-average")["rows"]
    assert client.get("/report/hired-by-quarter").get_json()["rows"]


def test_make_run_a_second_time_loads_nothing_again(client: Any, tmp_path: Path, database_url: str) -> None:
    env = hireflow_environ(tmp_path, database_url)
    for _ in range(2):
        outputs = [run_cli(*step, env=env) for step in make_run_steps()]
        assert all(done.returncode == 0 for done in outputs), [done.stderr for done in outputs]
    assert "sample not written" in outputs[1].stdout
    assert "nothing loaded" in outputs[2].stdout
    assert client.get("/task-list").get_json()["total"] == 1
