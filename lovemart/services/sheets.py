"""The one place every export writes its cells: text is text, never a formula (OWASP "CSV injection").

A name such as `=HYPERLINK("http://evil.example", "点击")` typed into a household, rule or user would
otherwise reach the spreadsheet as a live formula: openpyxl turns any string starting with `=` into one.
Every export therefore appends its rows through `TextSheet` (an .xlsx write-only sheet whose text cells are
always of type string) or `CsvSheet` (which prefixes a cell that a spreadsheet would evaluate with `'`).

Round trip: an .xlsx string cell reads back exactly, so an exported roster imports unchanged. For CSV, the
roster import reads a cell through `csv_text`, which removes the `'` that `csv_cell` added.
"""

import csv
from collections.abc import Iterable
from typing import TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font

#: What makes a spreadsheet read a CSV cell as a formula (OWASP: =, +, -, @, tab, carriage return).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_BOLD = Font(bold=True)


class TextSheet:
    """A write-only worksheet of `workbook` whose every text cell is written as a string."""

    def __init__(self, workbook: Workbook, title: str):
        self._sheet = workbook.create_sheet(title=title)

    @property
    def column_dimensions(self):
        return self._sheet.column_dimensions

    def append(self, values: Iterable) -> None:
        self._sheet.append([self._cell(value) for value in values])

    def bold(self, text: str) -> Cell:
        """A bold text cell, for titles and column headings."""
        cell = self._text_cell(text)
        cell.font = _BOLD
        return cell

    def _cell(self, value):
        if isinstance(value, Cell):  # made by `bold`
            return value
        if isinstance(value, str):
            return self._text_cell(value)
        return value

    def _text_cell(self, text: str) -> Cell:
        # XML cannot carry most control characters; openpyxl would refuse the whole export for one of them.
        cell = WriteOnlyCell(self._sheet, value=ILLEGAL_CHARACTERS_RE.sub("", str(text)))
        cell.data_type = "s"  # set after the value: openpyxl made a leading "=" a formula ("f")
        return cell


def csv_cell(value) -> str:
    """A value as a CSV cell that no spreadsheet evaluates: text starting with a formula trigger gets `'`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value
    return str(value)


def csv_text(cell: str) -> str:
    """What `csv_cell` was given: the `'` it put before a formula trigger is taken off again."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_TRIGGERS):
        return cell[1:]
    return cell


class CsvSheet:
    """Rows of a CSV export, every cell through `csv_cell`."""

    def __init__(self, stream: TextIO):
        self._writer = csv.writer(stream)

    def append(self, values: Iterable) -> None:
        self._writer.writerow([csv_cell(value) for value in values])
