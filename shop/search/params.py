"""Search request parameters: parsing and validation into one frozen SearchParams."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from shop.text import MAX_QUERY_LENGTH, query_terms

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 24
CENT = Decimal("0.01")
SORTS = ("relevance", "price_asc", "price_desc", "newest", "popular")


class SearchInputError(ValueError):
    """A search parameter is invalid; ``field`` names it for a 400 response."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class SearchParams:
    query: str = ""
    category_id: int | None = None
    brand_id: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    sort: str = "relevance"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> SearchParams:
        """Parse request parameters; raises SearchInputError naming the first bad field."""
        query, sort = _query(data), _sort(data)
        price_min, price_max = _price_bounds(data)
        return cls(
            query=query,
            category_id=_positive_int(data, "category"),
            brand_id=_positive_int(data, "brand"),
            price_min=price_min,
            price_max=price_max,
            in_stock=(data.get("in_stock") or "").lower() in ("1", "true", "on", "yes"),
            sort=sort,
            page=_positive_int(data, "page") or 1,
            page_size=min(_positive_int(data, "page_size") or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        )

    def with_query(self, query: str) -> SearchParams:
        return SearchParams(**{**self.__dict__, "query": query})

    @property
    def terms(self) -> list[str]:
        return query_terms(self.query)


def _query(data: Mapping[str, str]) -> str:
    query = (data.get("q") or "").strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchInputError("q", f"the query is longer than {MAX_QUERY_LENGTH} characters")
    if "\x00" in query:
        raise SearchInputError("q", "the query contains a NUL character")
    return query


def _sort(data: Mapping[str, str]) -> str:
    sort = data.get("sort") or "relevance"
    if sort not in SORTS:
        raise SearchInputError("sort", f"must be one of {', '.join(SORTS)}")
    return sort


def _price_bounds(data: Mapping[str, str]) -> tuple[Decimal | None, Decimal | None]:
    price_min = _decimal(data, "price_min")
    price_max = _decimal(data, "price_max")
    if price_min is not None and price_max is not None and price_min > price_max:
        raise SearchInputError("price_max", "must not be below price_min")
    # Prices are stored in cents: round the bounds inwards to cents (same matches),
    # so an exponent such as 1e-100000 never reaches the database (Postgres overflows).
    if price_min is not None:
        price_min = price_min.quantize(CENT, rounding=ROUND_CEILING)
    if price_max is not None:
        price_max = price_max.quantize(CENT, rounding=ROUND_FLOOR)
    return price_min, price_max


def _positive_int(data: Mapping[str, str], name: str) -> int | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SearchInputError(name, f"must be a whole number, got {str(raw)[:40]!r}") from None
    if value < 1:
        raise SearchInputError(name, "must be 1 or more")
    if value > 2**31:
        raise SearchInputError(name, "is too large")
    return value


def _decimal(data: Mapping[str, str], name: str) -> Decimal | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise SearchInputError(name, f"must be a number, got {str(raw)[:40]!r}") from None
    if not value.is_finite() or value < 0 or value > Decimal("1e10"):
        raise SearchInputError(name, "must be a number between 0 and 10000000000")
    return value
