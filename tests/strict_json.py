"""Read an answer the way the strictest client would: UTF-8, no NaN or Infinity, no repeated keys, no lone surrogates.

Written with the standard library only, apart from the service's own parser, so a test never checks the
service's answers with the code it is testing.
"""

from __future__ import annotations

import json
from typing import Any


class NotStrictJson(AssertionError):
    pass


def _refuse_constant(name: str) -> Any:
    raise NotStrictJson(f"the answer holds {name}, which JSON does not allow")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise NotStrictJson(f"the answer repeats a key in one object: {keys}")
    for key, value in pairs:
        for text in (key, value):
            if isinstance(text, str):
                text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError
    return dict(pairs)


def strict_json(body: bytes) -> Any:
    """The parsed answer; raises if it is not strict JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_object)
    except (ValueError, UnicodeError) as error:
        raise NotStrictJson(f"the answer is not strict JSON ({error}): {body[:200]!r}") from None
