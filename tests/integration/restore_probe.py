"""Restore one backup in a process of its own; print the outcome and the peak memory it took, as JSON.

Run by ``test_backup_memory``: ``python -m tests.integration.restore_probe <table> <backup id>`` with
DATABASE_URL and STORAGE_URL in the environment. The peak is the kernel's high-water mark of the
process's resident memory (VmHWM), read before and after the restore.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bootstrap import bootstrap
from core.backup.restore import restore_tables
from core.config import load_settings
from domain.errors import HireflowError


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmHWM line")


def main(table: str, backup_id: str) -> None:
    services = bootstrap(load_settings())
    outcome: dict[str, object] = {"peak_before_kib": peak_rss_kib()}
    try:
        restored = restore_tables(services.database, services.storage, services.backup_format, {table: backup_id})
        outcome["restored"] = [item.as_dict() for item in restored]
    except HireflowError as error:
        outcome.update(error=type(error).__name__, message=error.message, details=error.details)
    finally:
        services.dispose()
    outcome["peak_after_kib"] = peak_rss_kib()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
