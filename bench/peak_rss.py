"""``python -m bench.peak_rss [--rss-only] REPORT COMMAND...``: run COMMAND; write its exit status, peak RSS to REPORT.

Linux carries a process's peak RSS across ``fork`` and ``exec``: a child of the bench process reports at least
the bench's own size at the fork. Started from this small process instead, the command's figure is its own
(at least this launcher's few MB). Imports nothing of the project.

A command may fork (a large load parses its file in a child process): ``ru_maxrss`` then gives the larger of the
two, not their sum. So the launcher also samples, every 20 ms, the proportional set size (PSS: each shared page
split between the processes that share it) of the command and all its descendants, summed; the peak of that sum
is the memory the command held at once. Both are reported; the bench takes the larger.

Sampling costs CPU beside the command (a read of each process's ``smaps_rollup``, 50 times a second: 0.1 to 1.6 s
over a 10 s ``migrate`` of 1 000 000 rows on 2 cores). A run timed for its speed passes ``--rss-only``: no
sampling, only the peak RSS that the kernel gives with the exit status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

SAMPLE_SECONDS = 0.02


def high_water_kb() -> int:
    """This process's own peak RSS (VmHWM), which a child inherits; ``getrusage`` would add the bench's."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants, as the kernel lists each thread's children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv: list[str]) -> int:
    sample = argv[0] != "--rss-only"
    report, *command = argv if sample else argv[1:]
    child = subprocess.Popen(command)
    tree_peak = 0
    while sample:
        tree_peak = max(tree_peak, sum(pss_kb(pid) for pid in tree(child.pid)))
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(SAMPLE_SECONDS)
    else:
        pid, status, usage = os.wait4(child.pid, 0)
    floor = high_water_kb()
    with open(report, "w", encoding="utf-8") as out:
        json.dump(
            {
                "exit_code": os.waitstatus_to_exitcode(status),
                "peak_kb": usage.ru_maxrss,
                "tree_pss_peak_kb": tree_peak,
                "floor_kb": floor,
            },
            out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
