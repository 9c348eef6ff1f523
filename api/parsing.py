"""What a request may carry: every JSON body goes through one strict parser, and path parameters hold no
control characters (a URL with one matches no route).

The parser accepts I-JSON (RFC 7493), the strict profile of JSON: UTF-8, no duplicate keys in an object,
no lone surrogates, numbers that are finite. On top of it, nesting is limited and so is a number's length.
Flask's ``request.get_json()``, the ``@blp.arguments`` of flask-smorest (through webargs) and the batch
inserts all use it, so a body refused by one is refused by all, with a 400 that says why.

A batch of rows (an array of objects of plain values) is read first by orjson, in a seventh of the time;
whenever it cannot vouch that the strict reader gives the same value, the strict reader decides, and
every refusal comes from the strict reader, word for word.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from itertools import chain
from typing import Any

import flask_smorest
import orjson
from flask import Flask, Request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import BaseConverter

from domain.errors import InvalidRequest

# A row is an object inside the batch array; a restore request nests two levels. 32 leaves room and
# keeps every later step (validation, echoing a refused row, logging it) far from Python's recursion limit.
MAX_DEPTH = 32
# No id, count or year needs more; a longer number is refused before Python converts it.
MAX_NUMBER_CHARS = 100
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
# What a row's values may be for the fast reader's answer to stand: no floats (a number of more than
# MAX_NUMBER_CHARS, or one too large, reads as a float there), no objects or arrays below the rows.
_PLAIN_VALUES = frozenset({str, int, bool, type(None)})
# A colon written as an escape in a string: the duplicate-key check below counts literal colons.
_ESCAPED_COLON = re.compile(r"\\u003[aA]")
PATH_SEGMENT = r"[^/\x00-\x1f\x7f]+"


def parse_json(body: bytes | str) -> Any:
    """The value of a JSON text, or ``InvalidRequest`` naming what is wrong with it."""
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
    except UnicodeDecodeError as error:
        raise InvalidRequest("the body is not UTF-8 text", {"position": error.start}) from None
    rows = _plain_rows(text)
    return rows if rows is not None else _strict_value(text)


def _plain_rows(text: str) -> list[Any] | None:
    """An array of objects of plain values, read by orjson, when that is surely what ``_strict_value`` gives;
    else None.

    orjson refuses everything the strict reader refuses but a key twice in an object (it keeps the last
    value) and the checks made after reading. A number longer than ``MAX_NUMBER_CHARS`` or out of range
    reads as a float, so any float goes to the strict reader; rows of plain values are two levels deep.
    Every key is followed by one colon outside strings, so with no colon escaped in a string, the text holds
    more colons than orjson's own writing of the value exactly when a key came twice in an object.
    """
    if SURROGATE_ESCAPE.search(text) or _ESCAPED_COLON.search(text):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not list or not set(map(type, value)) <= {dict}:
        return None
    if not set(map(type, chain.from_iterable(map(dict.values, value)))) <= _PLAIN_VALUES:
        return None
    if text.count(":") != orjson.dumps(value).count(b":"):
        return None
    return value


def _strict_value(text: str) -> Any:
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_refuse_constant,
            parse_int=_integer,
            parse_float=_float,
        )
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            "the body is not valid JSON", {"reason": error.msg, "line": error.lineno, "column": error.colno}
        ) from None
    except RecursionError:
        raise _too_deep() from None
    _check_depth(value)
    if SURROGATE_ESCAPE.search(text):  # rare: only then look at every string
        _check_text(value)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):
        repeated = next(key for key, count in Counter(key for key, _value in pairs).items() if count > 1)
        shown = _printable(repeated)
        raise InvalidRequest(f"the key {shown!r} appears more than once in one JSON object", {"duplicate_key": shown})
    return found


def _refuse_constant(name: str) -> Any:
    raise InvalidRequest(f"the body holds {name}, which is not a JSON number", {"value": name})


def _integer(digits: str) -> int:
    if len(digits) > MAX_NUMBER_CHARS:
        raise _too_long(digits)
    return int(digits)


def _float(digits: str) -> float:
    if len(digits) > MAX_NUMBER_CHARS:
        raise _too_long(digits)
    value = float(digits)
    if not math.isfinite(value):
        raise InvalidRequest(f"the number {digits} is too large", {"value": digits})
    return value


def _too_long(digits: str) -> InvalidRequest:
    return InvalidRequest(
        f"a number in the body has more than {MAX_NUMBER_CHARS} characters",
        {"value": digits[:20] + "...", "max_characters": MAX_NUMBER_CHARS},
    )


def _too_deep() -> InvalidRequest:
    return InvalidRequest(f"the body is nested deeper than {MAX_DEPTH} levels", {"max_depth": MAX_DEPTH})


def _check_depth(value: Any) -> None:
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise _too_deep()
        below: list[Any] = []
        for item in level:
            below.extend(item.values() if isinstance(item, dict) else item)
        level = [item for item in below if isinstance(item, (dict, list))]


def _check_text(value: Any) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _refuse_lone_surrogate(item)
        elif isinstance(item, dict):
            for key in item:
                _refuse_lone_surrogate(key)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _refuse_lone_surrogate(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequest(
            "the body holds a lone surrogate escape, which is not a Unicode character",
            {"escape": _printable(text[error.start : error.end])},
        ) from None


def _printable(text: str) -> str:
    """Lone surrogates spelt out as ``\\ud800``, and at most 100 characters, so the text is safe to echo."""
    return text[:100].encode("utf-8", "backslashreplace").decode("utf-8")


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, strict both ways: bodies through ``parse_json``, and answers never hold NaN or Infinity."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


class StrictFlaskParser(FlaskParser):  # type: ignore[misc]
    """webargs, reading JSON bodies with ``parse_json`` instead of its own ``json.loads``."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        body = req.get_data(cache=True)
        return parse_json(body) if body else core.missing


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """The blueprint every API module uses: its ``@blp.arguments`` parse JSON bodies strictly."""

    ARGUMENTS_PARSER = StrictFlaskParser()


class PathSegment(BaseConverter):
    """The default ``<name>`` path parameter: one segment, no control characters.

    A URL with a NUL in a task id matches no route (404), so the NUL never reaches a view or a database.
    """

    regex = PATH_SEGMENT


def init_parsing(app: Flask, api: Api) -> None:
    app.json = StrictJSONProvider(app)
    app.url_map.converters["default"] = app.url_map.converters["string"] = PathSegment
    api.register_converter(PathSegment, lambda _converter: {"type": "string", "pattern": f"^{PATH_SEGMENT}$"})
