"""园区 Park trends (see dashboard/area.py)."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import area

dash.register_page(__name__, path="/parks", title="园区 · 运监", name="parks")


def layout(**kwargs: Any) -> html.Div:
    return area.layout("park", "/parks", kwargs)
