"""``python -m bench.peak_rss REPORT COMMAND...``: run COMMAND and write its exit status and peak RSS to REPORT.

Linux carries a process's peak RSS across ``fork`` and ``exec``: a child of the bench process reports at least
the bench's own size at the fork. Started from this small process instead, the command's figure is its own
(at least this launcher's few MB). Imports nothing of the project.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys


def main(argv: list[str]) -> int:
    report, *command = argv
    child = subprocess.Popen(command)
    _pid, status, usage = os.wait4(child.pid, 0)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(report, "w", encoding="utf-8") as out:
        json.dump({"exit_code": os.waitstatus_to_exitcode(status), "peak_kb": usage.ru_maxrss, "floor_kb": floor}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
