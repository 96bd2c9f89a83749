"""Table endpoints as JSON, CSV or XLSX (`?format=csv|xlsx`).

CSV is UTF-8 with a byte-order mark so that spreadsheet programs show Chinese correctly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel

CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TableFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


FormatQuery = Annotated[TableFormat, Query(
    description="`json` (default, paginated), or `csv` / `xlsx`: every matching row as a file.")]

TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}},
                      XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}}},
          "description": "JSON by default; a CSV or XLSX file with `?format=csv|xlsx`."}}


def _cell(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return v


def flatten(items: Iterable[BaseModel | dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for it in items:
        d = it.model_dump(mode="json") if isinstance(it, BaseModel) else it
        rows.append({k: _cell(v) for k, v in d.items()})
    return rows


def render(rows: Sequence[dict[str, Any]], fmt: TableFormat, filename: str,
           columns: Sequence[str] | None = None) -> Response:
    """A CSV or XLSX download of `rows` (already flat dicts)."""
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt == TableFormat.csv:
        buf = io.StringIO()
        buf.write("\ufeff")
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        return Response(buf.getvalue().encode("utf-8"), media_type=CSV_MEDIA,
                        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(filename[:31])
    ws.append(cols)
    for r in rows:
        ws.append([r.get(c) for c in cols])
    out = io.BytesIO()
    wb.save(out)
    return Response(out.getvalue(), media_type=XLSX_MEDIA,
                    headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'})
