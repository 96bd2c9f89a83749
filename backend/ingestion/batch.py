"""What a parser hands to the store: good rows and rejected rows with reasons. Pure data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class ParsedRow(NamedTuple):
    """One value as the upstream reported it: entity by its external code (USCC, district
    code, park code, or the city code), the value in the unit the upstream used. (A named
    tuple: bulk files make hundreds of thousands of these.)"""

    indicator: str
    entity_kind: str  # city | district | park | enterprise
    entity_code: str
    time: datetime  # timezone-aware start of the period
    value: float
    unit: str  # unit code or Chinese unit name, e.g. "kWh", "万吨"
    raw: Any = None  # the upstream record, kept for the quarantine if the store rejects it


@dataclass(frozen=True, slots=True)
class RejectedRow:
    raw: Any  # the record (dict / list) or the raw line text
    reason: str  # Chinese first, English after " / "

    def raw_text(self) -> str:
        return self.raw if isinstance(self.raw, str) else json.dumps(self.raw, ensure_ascii=False, default=str)

    def raw_json(self) -> Any:
        return None if isinstance(self.raw, str) else json.loads(self.raw_text())


@dataclass
class ParseResult:
    rows: list[ParsedRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    pages: int = 1  # for paged upstreams: how many pages the response says there are

    def extend(self, other: ParseResult) -> None:
        self.rows.extend(other.rows)
        self.rejected.extend(other.rejected)


class PayloadError(ValueError):
    """The response as a whole cannot be read (not JSON, wrong envelope, undecodable)."""
