"""Request field types that refuse what a client did not mean.

Pydantic's lax mode reads a JSON `false` as the number 0.0 and a number such as `0.5` or
`"1600000000"` as seconds since 1970. For a figure an enterprise reports, `false` stored as
an output of 0 is a wrong number in the statistics; for a date, 1970 is never what was
meant. These types keep the documented schema (`number`, `string` with `format: date` /
`date-time`) and reject the rest with a clear message.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field, Strict

from backend.api.pagination import MAX_DATE, MIN_DATE

_NUMERIC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _text_not_number(value: Any) -> Any:
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMERIC.fullmatch(value.strip())):
        raise ValueError("write dates and times as ISO 8601 text (2026-01-31, 2026-01-31T08:00:00+08:00), "
                         "not as a number")
    return value


Number = Annotated[float, Strict()]
"""A JSON number (an integer is fine); `true`/`false` and strings are refused."""

Instant = Annotated[datetime, BeforeValidator(_text_not_number)]
"""An ISO 8601 date-time; a bare number (seconds since 1970) is refused."""

AwareInstant = Annotated[AwareDatetime, BeforeValidator(_text_not_number)]
"""An ISO 8601 date-time with its UTC offset."""

Day = Annotated[date, Field(ge=MIN_DATE, le=MAX_DATE), BeforeValidator(_text_not_number)]
"""An ISO 8601 date between MIN_DATE and MAX_DATE; a bare number is refused."""
