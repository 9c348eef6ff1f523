"""The backup schedule: a crontab line in UTC, checked field by field before beat is given it."""

from __future__ import annotations

import re

# The fields of a crontab line, in order, with the values each may take.
CRONTAB_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week (0 is Sunday)", 0, 6),
)
_CRONTAB_ITEM = re.compile(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?")
OFF = ("", "off", "none")


def parse_backup_schedule(text: str) -> str | None:
    """A crontab line of five fields (``0 3 * * *``: 03:00 UTC every day), normalised; ``None`` when off."""
    if text.strip().lower() in OFF:
        return None
    fields = text.split()
    if len(fields) != len(CRONTAB_FIELDS):
        raise ValueError(f"it has {len(fields)} fields, not 5")
    for value, (name, low, high) in zip(fields, CRONTAB_FIELDS, strict=True):
        for item in value.split(","):
            match = _CRONTAB_ITEM.fullmatch(item)
            if not match:
                raise ValueError(f"the {name} field {value!r} is not *, a number, a range a-b, a list or a /step")
            start, end, step = match.group(2), match.group(3), match.group(4)
            numbers = [int(n) for n in (start, end) if n is not None]
            if any(not low <= n <= high for n in numbers):
                raise ValueError(f"the {name} field {value!r} must stay within {low} to {high}")
            if end is not None and int(end) < int(start):
                raise ValueError(f"the {name} field {value!r} has a range that runs backwards")
            if step is not None and int(step) < 1:
                raise ValueError(f"the {name} field {value!r} has a step of 0")
    return " ".join(fields)
