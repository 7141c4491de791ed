"""Row-level importers for products and events (CSV or JSON lines).

Every row is validated on its own: an invalid row is reported (file, line, field,
reason) and skipped, and every valid row still lands. Writes are batched; re-running a
file adds nothing (products upsert by SKU, events are keyed by (source, client event
id), derived from the row's content when the file has no event id).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from shop.models import Brand, Category, Event, EventType, Product
from shop.search import search_cache_invalidate

BATCH_SIZE = 5000
MAX_SKU = 64
MAX_TITLE = 500
MAX_QUERY = 500
MAX_USERNAME = 150
MAX_SESSION = 64
MAX_EVENT_ID = 100
EARLIEST_EVENT = datetime(1990, 1, 1, tzinfo=UTC)
# Clocks of clients differ: an event up to a day ahead of ours is accepted.
FUTURE_TOLERANCE = timedelta(days=1)
CATEGORY_SEPARATOR = ">"

PRODUCT_COLUMNS = (
    "sku",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "stock",
    "active",
    "attributes",
    "image_url",
)
EVENT_COLUMNS = (
    "event_id",
    "user",
    "session_id",
    "sku",
    "type",
    "value",
    "query",
    "position",
    "occurred_at",
    "context",
    "source",
)
PRODUCTLESS = {EventType.SEARCH.value}
EVENT_TYPE_VALUES = frozenset(EventType.values)
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


class RowInvalid(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: int = 0
    unknown_products: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.rows} rows", f"{self.created} created"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        parts.append(f"{self.duplicates} duplicates skipped")
        parts.append(f"{self.failed} failed")
        if self.unknown_products:
            parts.append(f"{self.unknown_products} naming unknown products")
        parts += [f"{v} {k}" for k, v in self.extra.items()]
        return ", ".join(parts)


ErrorSink = Callable[[RowError], None]


# --------------------------------------------------------------------------- reading


def read_rows(
    path: str | os.PathLike, *, fmt: str | None = None
) -> Iterator[tuple[int, dict | RowError]]:
    """Yield (line number, row dict) for each record of a CSV/TSV or JSON-lines file.

    A line that is not valid UTF-8 or not valid JSON is yielded as a RowError instead,
    so the caller reports it and carries on with the next row.
    """
    path = Path(path)
    fmt = fmt or _format_from_name(path)
    name = path.name
    if fmt == "jsonl":
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                text = _decode(raw, number == 1)
                if isinstance(text, RowInvalid):
                    yield number, RowError(name, number, text.field, text.reason)
                    continue
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield (
                        number,
                        RowError(
                            name,
                            number,
                            "(row)",
                            f"not valid JSON: {exc.msg} at column {exc.colno}",
                        ),
                    )
                    continue
                if not isinstance(row, dict):
                    yield number, RowError(name, number, "(row)", "each line must be a JSON object")
                    continue
                yield number, {str(k).strip().lower(): v for k, v in row.items()}
        return

    delimiter = "\t" if fmt == "tsv" else ","
    bad_lines: dict[int, RowInvalid] = {}
    counter = {"line": 0}

    def lines() -> Iterator[str]:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                counter["line"] = number
                text = _decode(raw, number == 1)
                if isinstance(text, RowInvalid):
                    bad_lines[number] = text
                    text = raw.decode("utf-8", errors="replace")
                yield text

    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip().lower() for h in header]
    if 1 in bad_lines:
        yield 1, RowError(name, 1, "(header)", bad_lines[1].reason)
        return
    while True:
        start = counter["line"] + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, RowError(name, start, "(row)", f"not valid CSV: {exc}")
            continue
        end = counter["line"]
        bad = next((bad_lines[n] for n in range(start, end + 1) if n in bad_lines), None)
        if bad is not None:
            yield start, RowError(name, start, bad.field, bad.reason)
            continue
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield (
                start,
                RowError(name, start, "(row)", f"{len(values)} values for {len(header)} columns"),
            )
            continue
        yield start, dict(zip(header, values, strict=False))


def _format_from_name(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if any(s in (".jsonl", ".ndjson", ".json") for s in suffixes):
        return "jsonl"
    if ".tsv" in suffixes:
        return "tsv"
    return "csv"


def _decode(raw: bytes, first: bool) -> str | RowInvalid:
    try:
        return raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        return RowInvalid(
            "(encoding)",
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start}); save the file as UTF-8",
        )


def check_columns(
    path: str | os.PathLike, required: Iterable[str], *, fmt: str | None = None
) -> list[str]:
    """The required columns missing from a CSV/TSV header (JSON lines are checked per row)."""
    path = Path(path)
    fmt = fmt or _format_from_name(path)
    if fmt == "jsonl":
        return []
    with path.open("rb") as handle:
        first = handle.readline()
    text = _decode(first, True)
    if isinstance(text, RowInvalid):
        return list(required)
    header = {
        h.strip().lower()
        for h in next(csv.reader(io.StringIO(text), delimiter="\t" if fmt == "tsv" else ","), [])
    }
    return [c for c in required if c not in header]


# ----------------------------------------------------------------------- field parsing


def _text(row: dict, name: str, *, required: bool = False, max_length: int | None = None) -> str:
    value = row.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise RowInvalid(name, "is required")
    if max_length is not None and len(value) > max_length:
        raise RowInvalid(name, f"is longer than {max_length} characters")
    if "\x00" in value:
        raise RowInvalid(name, "contains a NUL character")
    return value


def _decimal(row: dict, name: str) -> Decimal | None:
    value = _text(row, name)
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
    if number >= Decimal("1e10"):
        raise RowInvalid(name, f"{value[:40]} is too large")
    return number.quantize(Decimal("0.01"))


def _int(row: dict, name: str, *, default: int | None = None, minimum: int = 0) -> int | None:
    value = _text(row, name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise RowInvalid(name, f"{value[:40]!r} is not a whole number") from None
    if not number.is_integer():
        raise RowInvalid(name, f"{value[:40]!r} is not a whole number")
    if number < minimum:
        raise RowInvalid(name, f"{value[:40]} is below {minimum}")
    if number > 2**31 - 1:
        raise RowInvalid(name, f"{value[:40]} is too large")
    return int(number)


def _float(row: dict, name: str) -> float | None:
    value = _text(row, name)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowInvalid(name, f"{value[:40]!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise RowInvalid(name, f"{value[:40]!r} is not a finite number")
    return number


def _bool(row: dict, name: str, *, default: bool) -> bool:
    value = _text(row, name).lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise RowInvalid(name, f"{value[:40]!r} is not true/false (use 1/0, true/false, yes/no)")


def _json_object(row: dict, name: str) -> dict:
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


def parse_timestamp(
    value: Any,
    *,
    field_name: str = "occurred_at",
    default_tz: tzinfo = UTC,
    latest: datetime | None = None,
) -> datetime:
    """ISO 8601 (offset optional; naive means ``default_tz``) or Unix seconds, to UTC."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise RowInvalid(field_name, "is required")
    moment: datetime
    looks_like_date = "-" in text[1:] or ":" in text or "T" in text
    try:
        if looks_like_date:
            raise ValueError
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RowInvalid(
                field_name,
                f"{text[:40]!r} is not a date (use ISO 8601, e.g. 2024-05-01T13:45:00Z, or Unix seconds)",
            ) from None
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=default_tz)
    else:
        if seconds != seconds or abs(seconds) > 1e11:
            raise RowInvalid(field_name, f"{text[:40]!r} is not a plausible Unix time")
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    moment = moment.astimezone(UTC)
    if moment < EARLIEST_EVENT:
        raise RowInvalid(field_name, f"{text[:40]} is before 1990")
    if moment > (latest or timezone.now() + FUTURE_TOLERANCE):
        raise RowInvalid(field_name, f"{text[:40]} is in the future")
    return moment


# ----------------------------------------------------------------------- products


@dataclass
class ProductRow:
    sku: str
    title: str
    description: str
    category_path: tuple[str, ...]
    brand: str
    price: Decimal | None
    currency: str
    stock: int
    active: bool
    attributes: dict
    image_url: str


def parse_product(row: dict) -> ProductRow:
    sku = _text(row, "sku", required=True, max_length=MAX_SKU)
    title = _text(row, "title", required=True, max_length=MAX_TITLE)
    price = _decimal(row, "price")
    currency = _text(row, "currency").upper()
    if price is None:
        currency = ""
    elif not currency:
        raise RowInvalid("currency", "is required when a price is given (ISO 4217 code, e.g. EUR)")
    elif len(currency) != 3 or not currency.isalpha():
        raise RowInvalid("currency", f"{currency[:40]!r} is not a 3-letter ISO 4217 code")
    image_url = _text(row, "image_url", max_length=1000)
    if image_url and urlparse(image_url).scheme not in ("http", "https"):
        raise RowInvalid("image_url", "must be an http(s) URL")
    category = _text(row, "category", max_length=1000)
    path = tuple(p.strip()[:200] for p in category.split(CATEGORY_SEPARATOR) if p.strip())
    return ProductRow(
        sku=sku,
        title=title,
        description=_text(row, "description"),
        category_path=path,
        brand=_text(row, "brand", max_length=200),
        price=price,
        currency=currency,
        stock=_int(row, "stock", default=0),
        active=_bool(row, "active", default=True),
        attributes=_json_object(row, "attributes"),
        image_url=image_url,
    )


def _parsed_rows(
    rows: Iterable[tuple[int, dict | RowError]],
    parse: Callable[[dict], Any],
    report: ImportReport,
    on_error: ErrorSink,
    file_name: str,
) -> Iterator[tuple[int, Any]]:
    """(line, parse(row)) for each valid row; unreadable or invalid rows are counted and
    reported (file, line, field, reason) and skipped."""
    for line, raw in rows:
        report.rows += 1
        if isinstance(raw, RowError):
            report.failed += 1
            on_error(raw)
            continue
        try:
            yield line, parse(raw)
        except RowInvalid as exc:
            report.failed += 1
            on_error(RowError(file_name, line, exc.field, exc.reason))


class CatalogueCache:
    """Category paths and brand names to ids, created on first sight."""

    def __init__(self) -> None:
        self.categories: dict[tuple[str, ...], int] = {}
        self.brands: dict[str, int] = {}

    def category_id(self, path: tuple[str, ...]) -> int | None:
        if not path:
            return None
        if path not in self.categories:
            parent_id = self.category_id(path[:-1])
            category = Category.objects.filter(parent_id=parent_id, name=path[-1]).first()
            if category is None:
                category = Category(parent_id=parent_id, name=path[-1])
                if parent_id:
                    category.parent = Category.objects.get(pk=parent_id)
                category.slug = _unique_slug(Category, " ".join(path))
                category.save()
            self.categories[path] = category.pk
        return self.categories[path]

    def brand_id(self, name: str) -> int | None:
        if not name:
            return None
        key = name.casefold()
        if key not in self.brands:
            brand = Brand.objects.filter(name__iexact=name).first()
            if brand is None:
                brand = Brand.objects.create(name=name, slug=_unique_slug(Brand, name))
            self.brands[key] = brand.pk
        return self.brands[key]


def _unique_slug(model, text: str) -> str:
    from django.utils.text import slugify

    base = slugify(text)[:230] or model.__name__.lower()
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


PRODUCT_UPDATE_FIELDS = [
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "stock",
    "is_active",
    "attributes",
    "image_url",
    "updated_at",
]


def import_product_rows(
    rows: Iterable[tuple[int, dict | RowError]],
    *,
    file_name: str,
    on_error: ErrorSink,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Upsert products by SKU; invalid rows go to ``on_error`` and are skipped."""
    report = ImportReport()
    catalogue = CatalogueCache()
    batch: dict[str, Product] = {}

    def flush() -> None:
        if not batch:
            return
        existing = set(Product.objects.filter(sku__in=list(batch)).values_list("sku", flat=True))
        with transaction.atomic():
            Product.objects.bulk_create(
                list(batch.values()),
                update_conflicts=True,
                unique_fields=["sku"],
                update_fields=PRODUCT_UPDATE_FIELDS,
                batch_size=1000,
            )
        report.updated += len(existing)
        report.created += len(batch) - len(existing)
        batch.clear()

    def to_product(raw: dict) -> tuple[ProductRow, Product]:
        parsed = parse_product(raw)
        return parsed, Product(
            sku=parsed.sku,
            title=parsed.title,
            description=parsed.description,
            category_id=catalogue.category_id(parsed.category_path),
            brand_id=catalogue.brand_id(parsed.brand),
            price=parsed.price,
            currency=parsed.currency,
            stock=parsed.stock,
            is_active=parsed.active,
            attributes=parsed.attributes,
            image_url=parsed.image_url,
            updated_at=timezone.now(),
        )

    for _, (parsed, product) in _parsed_rows(rows, to_product, report, on_error, file_name):
        if parsed.sku in batch:
            report.duplicates += 1  # the later row of the same file wins
        batch[parsed.sku] = product
        if len(batch) >= batch_size:
            flush()
    flush()
    if report.created or report.updated:
        search_cache_invalidate()  # bulk upserts send no save signals
    return report


# ------------------------------------------------------------------------- events


@dataclass
class EventRow:
    client_event_id: str
    source: str
    username: str
    session_id: str
    sku: str
    event_type: str
    value: float | None
    query: str
    position: int | None
    occurred_at: datetime
    context: dict


def parse_event(
    row: dict, *, default_source: str, default_tz: tzinfo = UTC, latest: datetime | None = None
) -> EventRow:
    event_type = _text(row, "type", required=True).lower()
    if event_type not in EVENT_TYPE_VALUES:
        raise RowInvalid("type", f"{event_type[:40]!r} is not one of {', '.join(EventType.values)}")
    username = _text(row, "user", max_length=MAX_USERNAME)
    if username.endswith(".0") and username[:-2].isdigit():
        username = username[:-2]  # spreadsheet exports write ids as floats
    session_id = _text(row, "session_id", max_length=MAX_SESSION)
    if not username and not session_id:
        raise RowInvalid("user", "either user or session_id is required")
    sku = _text(row, "sku", max_length=MAX_SKU)
    if not sku and event_type not in PRODUCTLESS:
        raise RowInvalid("sku", f"is required for {event_type} events")
    value = _float(row, "value")
    if event_type == "rating" and (value is None or not 1 <= value <= 5):
        raise RowInvalid("value", "a rating needs a value from 1 to 5")
    query = _text(row, "query", max_length=MAX_QUERY)
    if event_type == "search" and not query:
        raise RowInvalid("query", "is required for search events")
    occurred_at = parse_timestamp(row.get("occurred_at"), default_tz=default_tz, latest=latest)
    source = _text(row, "source", max_length=32) or default_source
    event_id = _text(row, "event_id", max_length=MAX_EVENT_ID)
    position = _int(row, "position")
    context = _json_object(row, "context")
    if not event_id:
        # No id from the client: the row's content is its identity, so a re-run or a
        # repeated row in the same file is recognised as a duplicate.
        key = "|".join(
            str(x)
            for x in (
                username,
                session_id,
                sku,
                event_type,
                value,
                query,
                position,
                occurred_at.isoformat(),
            )
        )
        event_id = "h:" + hashlib.sha1(key.encode()).hexdigest()
    return EventRow(
        client_event_id=event_id,
        source=source,
        username=username,
        session_id=session_id,
        sku=sku,
        event_type=event_type,
        value=value,
        query=query,
        position=position,
        occurred_at=occurred_at,
        context=context,
    )


class _Resolver:
    """SKU -> product id and external user id -> user id, per batch, with a cache."""

    def __init__(self, *, create_users: bool) -> None:
        self.products: dict[str, int] = {}
        self.users: dict[str, int] = {}
        self.create_users = create_users

    def resolve_products(self, skus: set[str]) -> None:
        missing = [s for s in skus if s not in self.products]
        for chunk in _chunks(missing, 2000):
            self.products.update(Product.objects.filter(sku__in=chunk).values_list("sku", "pk"))

    def resolve_users(self, usernames: set[str]) -> None:
        User = get_user_model()
        missing = [u for u in usernames if u not in self.users]
        if missing and connection.vendor == "postgresql" and User._meta.db_table == "auth_user":
            # One array parameter instead of thousands of IN placeholders.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT username, id FROM auth_user WHERE username = ANY(%s)", [missing]
                )
                self.users.update(cursor.fetchall())
        else:
            for chunk in _chunks(missing, 2000):
                self.users.update(
                    User.objects.filter(username__in=chunk).values_list("username", "pk")
                )
        new = [u for u in missing if u not in self.users]
        if new and self.create_users:
            self.users.update(_create_users(new))
            new = [u for u in new if u not in self.users]  # created concurrently elsewhere
            for chunk in _chunks(new, 2000):
                self.users.update(
                    User.objects.filter(username__in=chunk).values_list("username", "pk")
                )


def _create_users(usernames: list[str]) -> dict[str, int]:
    """Create shoppers known only by an external id, with no usable password; returns
    the ids of those this call created (Postgres) or {} (look them up)."""
    User = get_user_model()
    now = timezone.now()
    if connection.vendor == "postgresql" and User._meta.db_table == "auth_user":
        # One statement per batch instead of instantiating thousands of model objects.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO auth_user (username, password, is_superuser, first_name, last_name,"
                " email, is_staff, is_active, date_joined)"
                " SELECT u, '!imported', false, '', '', '', false, true, %s FROM unnest(%s::text[]) AS u"
                " ON CONFLICT (username) DO NOTHING RETURNING username, id",
                [now, usernames],
            )
            return dict(cursor.fetchall())
    User.objects.bulk_create(
        [User(username=u, password="!imported", date_joined=now) for u in usernames],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return {}


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def import_event_rows(
    rows: Iterable[tuple[int, dict | RowError]],
    *,
    file_name: str,
    on_error: ErrorSink,
    default_source: str = "import",
    default_tz: tzinfo = UTC,
    create_users: bool = True,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Insert events idempotently; invalid rows go to ``on_error`` and are skipped.

    Users named by an unknown external id are created (with no usable password);
    events naming an unknown SKU are rejected and counted.
    """
    report = ImportReport()
    resolver = _Resolver(create_users=create_users)
    writer = _EventWriter(report)
    latest = timezone.now() + FUTURE_TOLERANCE
    batch: list[tuple[int, EventRow]] = []
    seen: set[tuple[str, str]] = set()
    touched_products: set[int] = set()
    received_at = timezone.now()

    def flush() -> None:
        if not batch:
            return
        resolver.resolve_products({r.sku for _, r in batch if r.sku})
        resolver.resolve_users({r.username for _, r in batch if r.username})
        events: list[tuple] = []
        for line, r in batch:
            product_id = resolver.products.get(r.sku) if r.sku else None
            if r.sku and product_id is None:
                report.failed += 1
                report.unknown_products += 1
                on_error(RowError(file_name, line, "sku", f"unknown product {r.sku!r}"))
                continue
            user_id = resolver.users.get(r.username) if r.username else None
            if r.username and user_id is None:
                report.failed += 1
                on_error(RowError(file_name, line, "user", f"unknown user {r.username!r}"))
                continue
            # In EVENT_COLUMNS_ORDER; plain tuples, not model instances, for speed.
            events.append(
                (
                    user_id,
                    r.session_id,
                    product_id,
                    r.event_type,
                    r.value,
                    r.query,
                    r.position,
                    r.context,
                    r.source,
                    r.client_event_id,
                    r.occurred_at,
                    received_at,
                )
            )
        writer.submit(events)
        touched_products.update(e[2] for e in events if e[2])
        if progress:
            progress(len(batch))
        batch.clear()

    def to_event(raw: dict) -> EventRow:
        return parse_event(raw, default_source=default_source, default_tz=default_tz, latest=latest)

    for line, parsed in _parsed_rows(rows, to_event, report, on_error, file_name):
        key = (parsed.source, parsed.client_event_id)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        batch.append((line, parsed))
        if len(batch) >= batch_size:
            flush()
    flush()
    writer.close()
    if touched_products:
        from shop.events.popularity import product_popularity_refresh

        product_popularity_refresh(product_ids=touched_products)
    return report


class _EventWriter:
    """Writes batches of event rows, on Postgres from background threads.

    The database works on batches (COPY, index updates, foreign-key checks) while the
    importer parses the next ones: psycopg releases the GIL while it waits, and each
    writer thread has its own connection, so the server uses both cores. At most
    WRITERS batches are in flight, so memory stays bounded and errors surface at the
    next batch. Inside an outer transaction (tests, callers that need all-or-nothing)
    the writes stay on the caller's connection, in order.
    """

    WRITERS = 2

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.pending: deque[Future] = deque()
        self.pool: ThreadPoolExecutor | None = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.pool = ThreadPoolExecutor(
                max_workers=self.WRITERS, thread_name_prefix="event-writer"
            )

    def _write(self, events: list[tuple]) -> tuple[int, int]:
        try:
            return insert_events(events), len(events)
        finally:
            if self.pool is not None:
                connection.close()  # this writer thread's own connection

    def _collect(self, keep: int) -> None:
        while len(self.pending) > keep:
            inserted, total = self.pending.popleft().result()
            self.report.created += inserted
            self.report.duplicates += total - inserted

    def submit(self, events: list[tuple]) -> None:
        if self.pool is None:
            inserted = insert_events(events)
            self.report.created += inserted
            self.report.duplicates += len(events) - inserted
            return
        self._collect(keep=self.WRITERS - 1)
        self.pending.append(self.pool.submit(self._write, events))

    def close(self) -> None:
        try:
            self._collect(keep=0)
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)


# The columns of an event row as import_event_rows builds it.
EVENT_COLUMNS_ORDER = (
    "user_id",
    "session_id",
    "product_id",
    "event_type",
    "value",
    "query",
    "position",
    "context",
    "source",
    "client_event_id",
    "occurred_at",
    "received_at",
)
_SOURCE, _CLIENT_ID = (
    EVENT_COLUMNS_ORDER.index("source"),
    EVENT_COLUMNS_ORDER.index("client_event_id"),
)


def insert_events(events: list[tuple]) -> int:
    """Insert event rows (tuples in EVENT_COLUMNS_ORDER), skipping those whose (source,
    client_event_id) exists; returns the number inserted.

    Postgres: COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING
    (measured 3x faster than bulk_create's multi-row INSERTs, see bench/ingest.py).
    Elsewhere: bulk_create after filtering out the keys already stored.
    """
    if not events:
        return 0
    if connection.vendor == "postgresql":
        return _insert_events_copy(events)
    existing = _existing_keys(events)
    new = [
        Event(**dict(zip(EVENT_COLUMNS_ORDER, row, strict=True)))
        for row in events
        if (row[_SOURCE], row[_CLIENT_ID]) not in existing
    ]
    with transaction.atomic():
        Event.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    return len(new)


def _existing_keys(events: list[tuple]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    by_source: dict[str, list[str]] = {}
    for row in events:
        by_source.setdefault(row[_SOURCE], []).append(row[_CLIENT_ID])
    for source, ids in by_source.items():
        for chunk in _chunks(ids, 900):
            keys.update(
                Event.objects.filter(source=source, client_event_id__in=chunk).values_list(
                    "source", "client_event_id"
                )
            )
    return keys


def _insert_events_copy(events: list[tuple]) -> int:
    """COPY the rows whose keys are not stored yet straight into the event table.

    The keys already stored are looked up first (one index probe per row), so a fresh
    batch skips the temporary table and the speculative ON CONFLICT insertion. If a
    concurrent writer stores one of the keys in between, the COPY fails as a whole and
    the batch goes through the temporary table with ON CONFLICT DO NOTHING instead.
    """
    table = Event._meta.db_table
    columns = ", ".join(EVENT_COLUMNS_ORDER)
    with transaction.atomic(), connection.cursor() as cursor:
        # A crash can lose at most the last batches, and a re-run restores them
        # (idempotent), so the import does not wait for each commit's WAL flush.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        existing = _existing_keys_postgres(cursor, events)
        fresh = [row for row in events if (row[_SOURCE], row[_CLIENT_ID]) not in existing]
        if not fresh:
            return 0
        import psycopg

        try:
            with transaction.atomic():
                _copy_rows(cursor, f"{table} ({columns})", fresh)
            return len(fresh)
        except (IntegrityError, psycopg.errors.UniqueViolation):
            pass  # a concurrent writer won a race for some keys (raw COPY raises psycopg's)
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS event_load ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        _copy_rows(cursor, f"event_load ({columns})", fresh)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM event_load "
            "ON CONFLICT (source, client_event_id) DO NOTHING"
        )
        return cursor.rowcount


def _copy_rows(cursor, target: str, rows: list[tuple]) -> None:
    context = EVENT_COLUMNS_ORDER.index("context")
    with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:  # the psycopg 3 cursor
        for row in rows:
            row = list(row)
            row[context] = json.dumps(row[context])
            copy.write_row(row)


def _existing_keys_postgres(cursor, events: list[tuple]) -> set[tuple[str, str]]:
    by_source: dict[str, list[str]] = {}
    for row in events:
        by_source.setdefault(row[_SOURCE], []).append(row[_CLIENT_ID])
    keys: set[tuple[str, str]] = set()
    table = Event._meta.db_table
    for source, ids in by_source.items():
        cursor.execute(
            f"SELECT source, client_event_id FROM {table} WHERE source = %s AND client_event_id = ANY(%s)",
            [source, ids],
        )
        keys.update(cursor.fetchall())
    return keys


def zone(name: str) -> tzinfo:
    """A time zone by IANA name, for naive timestamps in an import file."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)
