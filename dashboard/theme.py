"""Colours. The four warning colours (四色预警) are fixed by practice; series use the
Okabe–Ito palette, which stays distinguishable for the common colour-vision deficiencies.
Warning levels are never told by colour alone: each also has its own marker symbol and label."""

from __future__ import annotations

LEVELS = ("red", "orange", "yellow", "blue")  # most severe first
LEVEL_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}

WARNING_COLOURS = {
    "red": "#D62728",
    "orange": "#F28E2B",
    "yellow": "#E6C200",
    "blue": "#1F77B4",
    "none": "#8C9BAB",
}
# Distinct shapes so the level reads without colour (and in greyscale prints).
WARNING_SYMBOLS = {"red": "x", "orange": "diamond", "yellow": "triangle-up", "blue": "circle", "none": "circle-open"}

# Okabe & Ito (2008), without the yellow (kept for warnings) and black (kept for text).
SERIES = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999"]

BAND_FILL = "rgba(0, 114, 178, 0.12)"

LIGHT = {"paper": "#ffffff", "plot": "#ffffff", "font": "#1f2933", "grid": "#e4e7eb"}
DARK = {"paper": "#0b1620", "plot": "#0b1620", "font": "#e6edf3", "grid": "#24323f"}


def worst_level(levels: list[str]) -> str:
    """The most severe of `levels` ("none" when empty or all unknown)."""
    known = [lvl for lvl in levels if lvl in LEVEL_RANK]
    return min(known, key=LEVEL_RANK.__getitem__) if known else "none"
