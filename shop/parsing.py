"""One field of an incoming row (a file's line or an API item), parsed and checked.

Each parser reads ``row[name]`` and returns a clean value or raises ``RowInvalid``
naming the field and the reason, which the caller reports with the row's place
(file and line, or the item's index).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
LARGEST_DECIMAL = Decimal("1e10")
LARGEST_INT = 2**31 - 1
# The largest id a database row can have (64-bit integer primary keys): a longer run of
# digits names no row (it is not a server error).
LARGEST_ROW_ID = 2**63 - 1


class RowInvalid(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def parse_text(
    row: dict, name: str, *, required: bool = False, max_length: int | None = None
) -> str:
    value = row.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise RowInvalid(name, "is required")
    if max_length is not None and len(value) > max_length:
        raise RowInvalid(name, f"is longer than {max_length} characters")
    if "\x00" in value:
        raise RowInvalid(name, "contains a NUL character")
    return value


def parse_decimal(row: dict, name: str) -> Decimal | None:
    """A non-negative amount with two decimals; "1,234.50" reads as 1234.50."""
    value = parse_text(row, name)
    if not value:
        return None
    try:
        number = (
            Decimal(value.replace(",", "")) if value.count(",") and "." in value else Decimal(value)
        )
    except InvalidOperation:
        raise RowInvalid(name, f"{value[:40]!r} is not a number") from None
    if not number.is_finite():
        raise RowInvalid(name, f"{value[:40]!r} is not a finite number")
    if number < 0:
        raise RowInvalid(name, f"{value[:40]} is negative")
    if number >= LARGEST_DECIMAL:
        raise RowInvalid(name, f"{value[:40]} is too large")
    return number.quantize(Decimal("0.01"))


def parse_int(row: dict, name: str, *, default: int | None = None, minimum: int = 0) -> int | None:
    """A whole number ("3" or "3.0", as spreadsheets write it) from ``minimum`` up."""
    value = parse_text(row, name)
    if not value:
        return default
    number = _float(value, name, "a whole number")
    if not number.is_integer():
        raise RowInvalid(name, f"{value[:40]!r} is not a whole number")
    if number < minimum:
        raise RowInvalid(name, f"{value[:40]} is below {minimum}")
    if number > LARGEST_INT:
        raise RowInvalid(name, f"{value[:40]} is too large")
    return int(number)


def parse_float(row: dict, name: str) -> float | None:
    value = parse_text(row, name)
    if not value:
        return None
    number = _float(value, name, "a number")
    if number != number or number in (float("inf"), float("-inf")):
        raise RowInvalid(name, f"{value[:40]!r} is not a finite number")
    return number


def _float(value: str, name: str, what: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise RowInvalid(name, f"{value[:40]!r} is not {what}") from None


def parse_bool(row: dict, name: str, *, default: bool) -> bool:
    value = parse_text(row, name).lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise RowInvalid(name, f"{value[:40]!r} is not true/false (use 1/0, true/false, yes/no)")


def parse_json_object(row: dict, name: str) -> dict:
    """A JSON object, given as one (JSON lines, the API) or as its text (CSV)."""
    value = row.get(name)
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        raise RowInvalid(name, f"not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise RowInvalid(name, "must be a JSON object")
    return parsed
