"""A small tmpfs the test mounts itself, to fill a disk for real without touching any other."""

from __future__ import annotations

import errno
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import service_missing


@contextmanager
def small_tmpfs(folder: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` on ``folder`` (root only); fail under CI, skip elsewhere, if that is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        service_missing("mounting a tmpfs needs the mount command")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        service_missing(f"cannot mount a tmpfs on {folder} (root is needed): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Write a file into ``folder`` until the disk is full, then give back ``leave`` bytes; return the file."""
    filler = folder / "filler.bin"
    chunk = b"\0" * (64 << 10)
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    if leave:
        with filler.open("r+b") as out:
            out.truncate(max(0, filler.stat().st_size - leave))
    return filler


def files_in(folder: Path) -> set[str]:
    """Every file under ``folder``, hidden ones included, as paths relative to it."""
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
