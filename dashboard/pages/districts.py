"""区县 District trends (see dashboard/area.py)."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import area

dash.register_page(__name__, path="/districts", title="区县 · 运监", name="districts")


def layout(**kwargs: Any) -> html.Div:
    return area.layout("district", "/districts", kwargs)
