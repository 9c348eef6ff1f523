"""CSV written for people, who open it in a spreadsheet: no cell may run there as a formula.

OWASP's advice on CSV injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading apostrophe, so the spreadsheet shows it as text. Numbers are left as
they are; the exports hold no negative numbers (counts, ids and line numbers), and a number is never
text here, so none is changed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value``, with a leading apostrophe if it is text a spreadsheet would read as a formula."""
    if type(value) is str and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SpreadsheetSafeWriter:
    """``csv.writer`` with CRLF line ends, neutralising every cell that starts like a formula."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, values: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_safe(value) for value in values])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
