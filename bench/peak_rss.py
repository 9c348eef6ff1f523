"""``python -m bench.peak_rss REPORT COMMAND...``: run COMMAND and write its exit status and peak RSS to REPORT.

Linux carries a process's peak RSS across ``fork`` and ``exec``: a child of the bench process reports at least
the bench's own size at the fork. Started from this small process instead, the command's figure is its own
(at least this launcher's few MB). Imports nothing of the project.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def high_water_kb() -> int:
    """This process's own peak RSS (VmHWM), which a child inherits; ``getrusage`` would add the bench's."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main(argv: list[str]) -> int:
    report, *command = argv
    child = subprocess.Popen(command)
    _pid, status, usage = os.wait4(child.pid, 0)
    floor = high_water_kb()
    with open(report, "w", encoding="utf-8") as out:
        json.dump({"exit_code": os.waitstatus_to_exitcode(status), "peak_kb": usage.ru_maxrss, "floor_kb": floor}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
