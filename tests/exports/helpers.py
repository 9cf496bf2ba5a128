"""Reading an export back: the CSV and XLSX answers as rows of cells."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from portfolio.exports import XLSX_MEDIA_TYPE


def content(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[dict[str, str]]:
    """The CSV answer's rows as dicts by header (the byte order mark checked and dropped)."""
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/csv")
    body = content(response)
    assert body.startswith("\ufeff".encode()), "no byte order mark"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_sheet(response):
    assert response.status_code == 200, response
    assert response["Content-Type"] == XLSX_MEDIA_TYPE
    workbook = load_workbook(io.BytesIO(content(response)))
    return workbook.worksheets[0]


def xlsx_rows(response) -> list[dict[str, object]]:
    """The XLSX answer's rows as dicts by header (typed cell values)."""
    rows = list(xlsx_sheet(response).iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def column(rows, name: str) -> list:
    return [row[name] for row in rows]
