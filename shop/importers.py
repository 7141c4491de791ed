"""File importers for products and events (CSV, TSV or JSON lines): reading and row parsing.

Every row is validated on its own: an invalid row is reported (file, line, field,
reason) and skipped, and every valid row still lands. Writes are batched; re-running a
file adds nothing (products upsert by SKU; events go through shop.events, keyed by
(source, client event id), derived from the row's content when the file has no event id).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from shop.events.batch import BATCH_SIZE, events_ingest
from shop.events.resolve import UserIds
from shop.events.validation import FUTURE_TOLERANCE, MAX_SKU, EventRow, parse_event
from shop.models import Brand, Category, Product
from shop.parsing import (
    RowInvalid,
    parse_bool,
    parse_decimal,
    parse_int,
    parse_json_object,
    parse_text,
)
from shop.popularity import popularity_refresh
from shop.search.cache import search_cache_invalidate

MAX_TITLE = 500
CATEGORY_SEPARATOR = ">"


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


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
FileRows = Iterable[tuple[int, dict | RowError]]


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
    with path.open("rb") as handle:
        if fmt == "jsonl":
            yield from _jsonl_rows(handle, path.name)
        else:
            yield from _csv_rows(handle, path.name, delimiter="\t" if fmt == "tsv" else ",")


def _jsonl_rows(handle: BinaryIO, name: str) -> Iterator[tuple[int, dict | RowError]]:
    for number, raw in enumerate(handle, start=1):
        text = _decode(raw, number == 1)
        if isinstance(text, RowInvalid):
            yield number, RowError(name, number, text.field, text.reason)
        elif text.strip():
            yield number, _jsonl_row(text, name, number)


def _jsonl_row(text: str, name: str, number: int) -> dict | RowError:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc.msg} at column {exc.colno}"
        return RowError(name, number, "(row)", reason)
    if not isinstance(row, dict):
        return RowError(name, number, "(row)", "each line must be a JSON object")
    return {str(k).strip().lower(): v for k, v in row.items()}


class _NumberedLines:
    """A file's lines decoded for csv.reader, remembering the number of the last line
    read and the lines that are not valid UTF-8 (decoded with replacements)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.number = 0
        self.bad: dict[int, RowInvalid] = {}

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self.handle, start=1):
            self.number = number
            text = _decode(raw, number == 1)
            if isinstance(text, RowInvalid):
                self.bad[number] = text
                text = raw.decode("utf-8", errors="replace")
            yield text


def _csv_rows(
    handle: BinaryIO, name: str, *, delimiter: str
) -> Iterator[tuple[int, dict | RowError]]:
    lines = _NumberedLines(handle)
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    if 1 in lines.bad:
        yield 1, RowError(name, 1, "(header)", lines.bad[1].reason)
        return
    header = [h.strip().lower() for h in header]
    while True:
        start = lines.number + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, RowError(name, start, "(row)", f"not valid CSV: {exc}")
            continue
        row = _csv_row(values, header, lines, start, name)
        if row is not None:
            yield start, row


def _csv_row(
    values: list[str], header: list[str], lines: _NumberedLines, start: int, name: str
) -> dict | RowError | None:
    """The record that began on line ``start`` (and ends on the last line read); None
    for a blank one."""
    bad = next((lines.bad[n] for n in range(start, lines.number + 1) if n in lines.bad), None)
    if bad is not None:
        return RowError(name, start, bad.field, bad.reason)
    if not values or all(not v.strip() for v in values):
        return None
    if len(values) > len(header):
        return RowError(name, start, "(row)", f"{len(values)} values for {len(header)} columns")
    return dict(zip(header, values, strict=False))


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


def _parsed_rows(
    rows: FileRows,
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
    sku = parse_text(row, "sku", required=True, max_length=MAX_SKU)
    title = parse_text(row, "title", required=True, max_length=MAX_TITLE)
    price = parse_decimal(row, "price")
    currency = _currency(row, price)
    image_url = parse_text(row, "image_url", max_length=1000)
    if image_url and urlparse(image_url).scheme not in ("http", "https"):
        raise RowInvalid("image_url", "must be an http(s) URL")
    category = parse_text(row, "category", max_length=1000)
    path = tuple(p.strip()[:200] for p in category.split(CATEGORY_SEPARATOR) if p.strip())
    return ProductRow(
        sku=sku,
        title=title,
        description=parse_text(row, "description"),
        category_path=path,
        brand=parse_text(row, "brand", max_length=200),
        price=price,
        currency=currency,
        stock=parse_int(row, "stock", default=0),
        active=parse_bool(row, "active", default=True),
        attributes=parse_json_object(row, "attributes"),
        image_url=image_url,
    )


def _currency(row: dict, price: Decimal | None) -> str:
    """An ISO 4217 code, required with a price; empty without one."""
    currency = parse_text(row, "currency").upper()
    if price is None:
        return ""
    if not currency:
        raise RowInvalid("currency", "is required when a price is given (ISO 4217 code, e.g. EUR)")
    if len(currency) != 3 or not currency.isalpha():
        raise RowInvalid("currency", f"{currency[:40]!r} is not a 3-letter ISO 4217 code")
    return currency


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
    base = slugify(text)[:230] or model.__name__.lower()
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _product_fields(parsed: ProductRow, catalogue: CatalogueCache) -> dict[str, Any]:
    """The Product fields a file sets; a re-imported SKU overwrites all of them."""
    return {
        "sku": parsed.sku,
        "title": parsed.title,
        "description": parsed.description,
        "category_id": catalogue.category_id(parsed.category_path),
        "brand_id": catalogue.brand_id(parsed.brand),
        "price": parsed.price,
        "currency": parsed.currency,
        "stock": parsed.stock,
        "is_active": parsed.active,
        "attributes": parsed.attributes,
        "image_url": parsed.image_url,
        "updated_at": timezone.now(),
    }


def _products_upsert(batch: dict[str, dict[str, Any]], report: ImportReport) -> None:
    existing = set(Product.objects.filter(sku__in=list(batch)).values_list("sku", flat=True))
    update_fields = [name for name in next(iter(batch.values())) if name != "sku"]
    with transaction.atomic():
        Product.objects.bulk_create(
            [Product(**fields) for fields in batch.values()],
            update_conflicts=True,
            unique_fields=["sku"],
            update_fields=update_fields,
            batch_size=1000,
        )
    report.updated += len(existing)
    report.created += len(batch) - len(existing)


def import_product_rows(
    rows: FileRows, *, file_name: str, on_error: ErrorSink, batch_size: int = BATCH_SIZE
) -> ImportReport:
    """Upsert products by SKU; invalid rows go to ``on_error`` and are skipped. A SKU
    repeated in the file counts as a duplicate; its last row wins."""
    report = ImportReport()
    catalogue = CatalogueCache()
    batch: dict[str, dict[str, Any]] = {}
    for _, parsed in _parsed_rows(rows, parse_product, report, on_error, file_name):
        if parsed.sku in batch:
            report.duplicates += 1
        batch[parsed.sku] = _product_fields(parsed, catalogue)
        if len(batch) >= batch_size:
            _products_upsert(batch, report)
            batch = {}
    if batch:
        _products_upsert(batch, report)
    if report.created or report.updated:
        search_cache_invalidate()  # bulk upserts send no save signals
    return report


# ------------------------------------------------------------------------- events


def import_event_rows(
    rows: FileRows,
    *,
    file_name: str,
    on_error: ErrorSink,
    default_source: str = "import",
    default_tz: tzinfo = UTC,
    create_users: bool = True,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Parse event rows and store them through shop.events (idempotent); invalid rows
    go to ``on_error`` and are skipped.

    Users named by an unknown external id are created (with no usable password);
    events naming an unknown SKU are rejected and counted. File imports are backfills:
    listeners of ``events_recorded`` are not told (a training run reads them). Products'
    popularity is refreshed once the events are stored.
    """
    report = ImportReport()
    latest = timezone.now() + FUTURE_TOLERANCE

    def to_event(raw: dict) -> EventRow:
        return parse_event(raw, default_source=default_source, default_tz=default_tz, latest=latest)

    def refused(line: int, field_name: str, reason: str) -> None:
        report.failed += 1
        on_error(RowError(file_name, line, field_name, reason))

    counts = events_ingest(
        events=_parsed_rows(rows, to_event, report, on_error, file_name),
        users=UserIds(create=create_users),
        on_refused=refused,
        announce=False,
        batch_size=batch_size,
    )
    report.created, report.duplicates = counts.created, counts.duplicates
    report.unknown_products = counts.unknown_products
    if counts.created:
        popularity_refresh()  # the search order and "popular" reflect the import at once
    return report


def zone(name: str) -> tzinfo:
    """A time zone by IANA name, for naive timestamps in an import file."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)
