"""Databases made by earlier releases, by those releases themselves.

``git archive <commit>`` of this repository gives that release's source; its ``python main.py init-db`` and
``migrate --source <challenge files>`` run with today's virtualenv, as a user of that release ran them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, service_missing

FIRST_RELEASE = "b50165d841710f559df93c55809aeccf8b244b19"  # hiring tables, rejections, checkpoints
BEFORE_REPORT_INDEXES = "f68af948fe7273169392b9906425760541899368"  # + background_jobs
BEFORE_ALEMBIC = "c0db31710a4c4304ea2cddd41e9746f0bbaca77d"  # + the two report indexes: the last release
# The revision that makes exactly the schema each release's init-db made.
SHAPE_OF = {FIRST_RELEASE: "0001", BEFORE_REPORT_INDEXES: "0002", BEFORE_ALEMBIC: "0003"}


def main_process(tree: Path, *args: str, database_url: str, tmp_path: Path) -> dict[str, Any]:
    """How to run ``python main.py ARGS`` of the checkout ``tree`` on ``database_url``, as a user does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STORAGE_", "CELERY_", "REDIS_"))}
    env.update(DATABASE_URL=database_url, STORAGE_URL=(tmp_path / "storage").as_uri())
    return {"args": [sys.executable, "main.py", *args], "cwd": tree, "env": env, "text": True}


def run_main(tree: Path, *args: str, database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    process = main_process(tree, *args, database_url=database_url, tmp_path=tmp_path)
    result = subprocess.run(**process, capture_output=True, timeout=120)
    assert result.returncode == 0, f"{tree.name}: main.py {' '.join(args)}: {result.stderr}"
    return result


def make_old_database(tree: Path, database_url: str, challenge_dir: Path, tmp_path: Path) -> None:
    """The release's ``init-db``, then its ``migrate`` of the challenge files."""
    run_main(tree, "init-db", database_url=database_url, tmp_path=tmp_path)
    options = ("--source", str(challenge_dir), "--no-progress")
    loaded = run_main(tree, "migrate", *options, database_url=database_url, tmp_path=tmp_path)
    assert "1929" in loaded.stdout


def release_trees(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``tree(commit)``: the source tree of an earlier commit of this repository, extracted once."""
    trees: dict[str, Path] = {}

    def tree(commit: str) -> Path:
        if commit not in trees:
            if (
                shutil.which("git") is None
                or subprocess.run(
                    ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True
                ).returncode
            ):
                service_missing(f"commit {commit[:7]} is not in this clone's history (a shallow clone?)")
            target = tmp_path_factory.mktemp(f"release-{commit[:7]}")
            archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
            trees[commit] = target
        return trees[commit]

    return tree
