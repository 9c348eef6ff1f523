"""The data dictionary's rules, one small function per field kind.

Each parser takes a raw value (a CSV string, or whatever JSON gave) and returns
either the clean value or a ``Reason``. They never raise for bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_ID = 2**31 - 1
MAX_NAME_LENGTH = 100
MIN_YEAR = 1900
MAX_YEAR = 2100

# C0 and C1 control characters, and lone surrogates (how undecodable bytes arrive).
_FORBIDDEN_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a value or a row was refused: a stable code for machines, a message for people."""

    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


def _missing(field: str) -> Reason:
    return Reason("missing", f"{field} is required and is empty", field)


def _wrong_type(field: str, value: object, expected: str) -> Reason:
    return Reason("wrong_type", f"{field} must be {expected}, got {type(value).__name__}", field)


def parse_id(value: object, field: str) -> int | Reason:
    """A positive 32-bit integer written as an integer: ``7`` or ``"7"``, never ``7.0`` or ``"+7"``."""
    if type(value) is str:
        text = value.strip()
        if not text:
            return _missing(field)
        if not (text.isascii() and text.isdigit()):
            return Reason("not_an_integer", f"{field} must be a whole number, got {_shorten(text)!r}", field)
        if len(text) > 10:
            return Reason("out_of_range", f"{field} must be between 1 and {MAX_ID}", field)
        number = int(text)
    elif type(value) is int:
        number = value
    elif value is None:
        return _missing(field)
    elif isinstance(value, float):
        return Reason("not_an_integer", f"{field} must be a whole number, got {value!r}", field)
    else:
        return _wrong_type(field, value, "an integer")
    if not 1 <= number <= MAX_ID:
        return Reason("out_of_range", f"{field} must be between 1 and {MAX_ID}, got {_shorten(str(number))}", field)
    return number


def parse_name(value: object, field: str) -> str | Reason:
    """Trimmed, non-empty text of at most 100 characters, with no control characters."""
    if type(value) is not str:
        if value is None:
            return _missing(field)
        return _wrong_type(field, value, "text")
    text = value.strip()
    if not text:
        return _missing(field)
    if len(text) > MAX_NAME_LENGTH:
        return Reason("too_long", f"{field} has {len(text)} characters; at most {MAX_NAME_LENGTH} are allowed", field)
    if _FORBIDDEN_IN_NAME.search(text):
        if _UNDECODABLE.search(text):
            return Reason("invalid_encoding", f"{field} contains bytes that are not valid UTF-8", field)
        return Reason("control_characters", f"{field} contains control characters", field)
    return text


def parse_datetime(value: object, field: str) -> datetime | Reason:
    """ISO 8601 with a timezone (``Z`` or an offset), or an aware ``datetime``; returned as naive UTC."""
    if isinstance(value, datetime):
        moment = value
    elif type(value) is not str:
        if value is None:
            return _missing(field)
        return _wrong_type(field, value, "an ISO 8601 date-time string")
    else:
        text = value.strip()
        if not text:
            return _missing(field)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return Reason(
                "invalid_datetime",
                f"{field} must be an ISO 8601 date-time such as 2021-11-07T02:48:42Z, got {_shorten(text)!r}",
                field,
            )
    if moment.tzinfo is None:
        return Reason("missing_timezone", f"{field} must carry a timezone (Z or an offset such as +02:00)", field)
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return Reason("out_of_range", f"{field} must fall between the years {MIN_YEAR} and {MAX_YEAR}", field)
    return moment.astimezone(UTC).replace(tzinfo=None)


# The common case of each parser, for bulk loads: the clean value when the raw value is plainly
# valid, else None, meaning "ask the full parser", which gives the value or the exact reason.
# Each accepts only what its parser would return unchanged, so both paths agree on every input.


def accept_id(value: object) -> int | None:
    if type(value) is str:
        if not (value.isdigit() and value.isascii() and len(value) <= 10):
            return None
        number = int(value)
    elif type(value) is int:
        number = value
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def accept_name(value: object) -> str | None:
    if type(value) is not str:
        return None
    text = value.strip()
    # isprintable() is false for every control character and surrogate, so a printable name has none.
    if text and len(text) <= MAX_NAME_LENGTH and text.isprintable():
        return text
    return None


def accept_datetime(value: object) -> datetime | None:
    if type(value) is str:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    elif type(value) is datetime:
        moment = value
    else:
        return None
    # Z and +00:00 parse to the UTC singleton: already UTC, nothing to convert. combine() drops
    # the zone about six times faster than replace(tzinfo=None), whose keyword parsing is slow.
    if moment.tzinfo is UTC and MIN_YEAR <= moment.year <= MAX_YEAR:
        return datetime.combine(moment.date(), moment.time())
    return None


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
