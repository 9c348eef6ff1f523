"""The data dictionary's rules, one small function per field kind.

Each parser takes a raw value (a CSV string, or whatever JSON gave) and returns
either the clean value or a ``Reason``. They never raise for bad input.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

MAX_ID = 2**31 - 1
# Counted in UTF-16 code units, as SQL Server counts NVARCHAR(100): a character beyond U+FFFF
# (most emoji, some CJK ideographs) counts as 2, so a name that passes fits every database.
MAX_NAME_LENGTH = 100
MIN_YEAR = 1900
MAX_YEAR = 2100

# C0 and C1 control characters, and lone surrogates (how undecodable bytes arrive).
_FORBIDDEN_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# Unicode's Bidi_Control characters: marks, embeddings, overrides and isolates, which can make a name
# display in another order than it is stored ("abc\u202edcba" shows as "abcabcd").
_BIDI_CONTROL = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What shows nothing on its own: spaces and separators, format characters (zero-width ones, the BOM),
# combining marks with no base, and letters and symbols that fonts draw blank (Hangul fillers, braille blank).
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Mn", "Me"})
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


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
    """Trimmed text of 1 to 100 characters (UTF-16 units) with a visible one, and no control or bidi characters."""
    if type(value) is not str:
        if value is None:
            return _missing(field)
        return _wrong_type(field, value, "text")
    text = value.strip()
    if not text:
        return _missing(field)
    units = _utf16_units(text)
    if units > MAX_NAME_LENGTH:
        return _too_long(field, text, units)
    if _FORBIDDEN_IN_NAME.search(text):
        if _UNDECODABLE.search(text):
            return Reason("invalid_encoding", f"{field} contains bytes that are not valid UTF-8", field)
        return Reason("control_characters", f"{field} contains control characters", field)
    if _BIDI_CONTROL.search(text):
        return Reason(
            "bidi_control_characters",
            f"{field} contains a bidirectional control character (such as U+202E), which changes how it displays",
            field,
        )
    if not _has_visible_character(text):
        return Reason(
            "no_visible_characters",
            f"{field} has no visible character, only spaces, zero-width or other invisible characters",
            field,
        )
    return text


def _too_long(field: str, text: str, units: int) -> Reason:
    length = f"{len(text)} characters"
    if units != len(text):
        length += f", {units} when each one beyond U+FFFF (such as an emoji) counts as 2"
    return Reason("too_long", f"{field} has {length}; at most {MAX_NAME_LENGTH} are allowed", field)


def _utf16_units(text: str) -> int:
    """The length SQL Server's NVARCHAR gives ``text``: one per character, two beyond U+FFFF."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def _is_visible(char: str) -> bool:
    if char in _BLANK_CHARACTERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return False
    point = ord(char)  # unassigned code points Unicode reserves as default-ignorable: never drawn
    return not (point == 0x2065 or 0xFFF0 <= point <= 0xFFF8 or 0xE0000 <= point <= 0xE0FFF)


def _has_visible_character(text: str) -> bool:
    return any(map(_is_visible, text))


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
    # The year is checked in UTC, as stored: 1900-01-01T00:00:00+01:00 is still 1899 there.
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # an offset that pushes year 1 or year 9999 past what datetime holds
        utc = None
    if utc is None or not MIN_YEAR <= utc.year <= MAX_YEAR:
        return Reason("out_of_range", f"{field} must fall between the years {MIN_YEAR} and {MAX_YEAR} in UTC", field)
    return utc.replace(tzinfo=None)


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
    # isprintable() is false for every control, format (bidi included) and surrogate character, so a
    # printable name has none; a stripped, printable ASCII name starts with a visible character.
    if text and len(text) <= MAX_NAME_LENGTH and text.isprintable():
        if text.isascii() or (_utf16_units(text) <= MAX_NAME_LENGTH and _has_visible_character(text)):
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


# The same common cases for a whole column of values at once, for restores: the clean column when every value
# is plainly valid (what the acceptor above returns for each), else None, meaning "take the values one by one".
# Each check runs in C over the column, with no line of Python per value.
_FIRST_MOMENT = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
_LAST_MOMENT = datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_tzinfo = operator.attrgetter("tzinfo")


def accept_ids(values: Sequence[object]) -> Sequence[int] | None:
    if not values or set(map(type, values)) != {int}:
        return None
    numbers = cast("Sequence[int]", values)
    return numbers if 1 <= min(numbers) and max(numbers) <= MAX_ID else None


def accept_names(values: Sequence[object]) -> list[str] | None:
    if not values or set(map(type, values)) != {str}:
        return None
    texts = list(map(str.strip, cast("Sequence[str]", values)))
    joined = "".join(texts)
    if not joined.isprintable() or min(map(len, texts)) < 1 or max(map(len, texts)) > MAX_NAME_LENGTH:
        return None
    if not joined.isascii():
        unusual = {text for text in set(texts) if not text.isascii()}
        if not all(map(_canonical_unicode_name, unusual)):
            return None
    return texts


def accept_datetimes(values: Sequence[object]) -> list[datetime] | None:
    if not values or set(map(type, values)) != {datetime}:
        return None
    moments = cast("Sequence[datetime]", values)
    if not all(map(operator.is_, map(_tzinfo, moments), itertools.repeat(UTC))):
        return None
    if min(moments) < _FIRST_MOMENT or max(moments) > _LAST_MOMENT:
        return None
    return list(map(datetime.combine, map(datetime.date, moments), map(datetime.time, moments)))


# The canonical form of each field, for a CSV line parsed by one pattern (``TableSpec.parse_line``): what the
# pattern captures is exactly the field csv.reader gives, and the checks below take only what the field's parser
# returns unchanged; anything else is None, "take the full path". The pattern does most of the work: ids of up
# to nine digits without a leading zero (below MAX_ID), names with no quote, comma, line break or edge space,
# and UTC times in the years the rules accept, so that the date itself is all ``datetime.fromisoformat`` checks.
CANONICAL_ID = "([1-9][0-9]{0,8})"
CANONICAL_NAME = '([^", \r\n](?:[^",\r\n]{0,98}[^", \r\n])?)'
CANONICAL_DATETIME = "((?:19[0-9][0-9]|20[0-9][0-9]|2100)-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9])Z"


def canonical_name(text: str) -> str | None:
    """A name the pattern captured that ``parse_name`` returns unchanged, else None."""
    if text.isascii() and text.isprintable():  # every printable ASCII character but the space is visible
        return text
    return _canonical_unicode_name(text)


@functools.lru_cache(maxsize=1 << 16)
def _canonical_unicode_name(text: str) -> str | None:
    # Memoised: a file holds far fewer distinct names than rows, and the Unicode checks cost a pass per character.
    return text if accept_name(text) == text else None


def canonical_datetime_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
