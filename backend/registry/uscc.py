"""统一社会信用代码 (Unified Social Credit Code, GB 32100-2015): validation and check character."""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(CHARSET)}


class InvalidUSCC(ValueError):
    pass


def check_character(first17: str) -> str:
    """The 18th character for a 17-character body."""
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise InvalidUSCC(f"body must be 17 characters from {CHARSET!r}: {first17!r}")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate(code: str) -> str:
    """Return the normalised (upper-case, stripped) code, or raise InvalidUSCC with the reason."""
    norm = code.strip().upper()
    if len(norm) != 18:
        raise InvalidUSCC(f"统一社会信用代码应为18位 / a USCC has 18 characters, got {len(norm)}: {code!r}")
    bad = [c for c in norm if c not in _VALUE]
    if bad:
        raise InvalidUSCC(f"统一社会信用代码含非法字符 / invalid characters {''.join(bad)!r} in {code!r}")
    expected = check_character(norm[:17])
    if norm[17] != expected:
        raise InvalidUSCC(f"统一社会信用代码校验位错误 / check character should be {expected!r}, got {norm[17]!r}: {code!r}")
    return norm


def make(registration: str, category: str, division: str, org_code: str) -> str:
    """Build a valid code from its parts (used for synthetic demo enterprises)."""
    body = f"{registration}{category}{division}{org_code}"
    return body + check_character(body)
