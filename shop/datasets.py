"""Converters from public dataset formats to the importers' row format.

Each converter yields (line, row) pairs in the same column set as the CSV importers, so
datasets go through exactly the validation and batched writes of import_products and
import_events.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from shop.importers import MAX_TITLE, RowError, read_rows

AMAZON_BEAUTY_SOURCE = "amazon-beauty"
ONLINE_RETAIL_SOURCE = "online-retail"
ONLINE_RETAIL_TZ = ZoneInfo("Europe/London")
ONLINE_RETAIL_CURRENCY = "GBP"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def amazon_username(reviewer_id: str) -> str:
    return f"amz-{reviewer_id}"


# --------------------------------------------------------------------- Amazon Beauty


def amazon_beauty_products(directory: Path) -> Iterator[tuple[int, dict | RowError]]:
    """items.tsv (item_id, asin, title, attribute_ids), merged with the optional
    item_details.tsv (asin, brand, category, price, currency) that the demo ships."""
    details = _amazon_item_details(directory / "item_details.tsv")
    for line, row in read_rows(directory / "items.tsv"):
        if isinstance(row, RowError):
            yield line, row
        else:
            yield line, _amazon_product(row, details)


def _amazon_item_details(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {
        row["asin"]: row for _, row in read_rows(path) if isinstance(row, dict) and row.get("asin")
    }


def _amazon_product(row: dict, details: dict[str, dict]) -> dict:
    asin = (row.get("asin") or "").strip()
    attribute_ids = [int(a) for a in (row.get("attribute_ids") or "").split() if a.isdigit()]
    extra = details.get(asin, {})
    return {
        "sku": asin,
        # 7 items of the benchmark have no title: the ASIN stands in for one; a
        # few keyword-stuffed titles run past the column's 500 characters.
        "title": _shorten((row.get("title") or "").strip() or f"Item {asin}", MAX_TITLE),
        "brand": extra.get("brand", ""),
        "category": extra.get("category", ""),
        "price": extra.get("price", ""),
        "currency": extra.get("currency", ""),
        "stock": extra.get("stock", "10"),
        "attributes": {"attribute_ids": attribute_ids, "dataset_item_id": row.get("item_id")},
    }


def amazon_beauty_events(directory: Path) -> Iterator[tuple[int, dict | RowError]]:
    """interactions.tsv rows as purchase events (a review implies a purchase).

    The file's order within a user is the benchmark's order, but timestamps have day
    resolution: the n-th event of a user on a day gets n seconds added, so that ordering
    by time (and the leave-last-out split) reproduces the published order.
    """
    with (directory / "sequences.tsv").open(encoding="utf-8") as handle:
        reviewers = {
            row["user_id"]: row["reviewer_id"] for row in csv.DictReader(handle, delimiter="\t")
        }
    position: dict[str, int] = {}
    day_offset: dict[tuple[str, str], int] = {}
    for line, row in read_rows(directory / "interactions.tsv"):
        if isinstance(row, RowError):
            yield line, row
            continue
        user, stamp = row.get("user_id", ""), row.get("timestamp", "")
        index = position[user] = position.get(user, -1) + 1
        offset = day_offset[(user, stamp)] = day_offset.get((user, stamp), -1) + 1
        yield (
            line,
            {
                "event_id": f"{user}:{index}",
                "user": amazon_username(reviewers.get(user, f"user{user}")),
                "sku": row.get("asin", ""),
                "type": "purchase",
                "occurred_at": _day_time(stamp, offset),
                "source": AMAZON_BEAUTY_SOURCE,
            },
        )


def _day_time(stamp: str, offset: int) -> str:
    """Unix seconds plus ``offset`` seconds, in ISO 8601; a bad stamp as it is (the
    importer reports it with the field name)."""
    try:
        return (datetime.fromtimestamp(int(stamp), tz=UTC) + timedelta(seconds=offset)).isoformat()
    except (ValueError, OverflowError, OSError):
        return stamp


# --------------------------------------------------------------------- Online Retail


def online_retail_products(path: Path) -> Iterator[tuple[int, dict | RowError]]:
    """One product per StockCode: its latest description and unit price in GBP."""
    products: dict[str, tuple[int, dict]] = {}
    for line, row in read_rows(path):
        if isinstance(row, RowError):
            continue  # reported once, by the events pass
        code = (row.get("stockcode") or "").strip()
        if not code:
            continue
        description = (row.get("description") or "").strip()
        price = (row.get("unitprice") or "").strip()
        first_line = products[code][0] if code in products else line
        previous = products.get(code, (line, {}))[1]
        products[code] = (
            first_line,
            {
                "sku": code,
                "title": description.title() if description else previous.get("title", ""),
                "price": price if price not in ("", "0", "0.0") else previous.get("price", ""),
                "currency": ONLINE_RETAIL_CURRENCY,
                "stock": "100",
                "category": "Gifts",
            },
        )
    for line, product in products.values():
        if not product["price"]:
            product["currency"] = ""
        yield line, product


def online_retail_events(
    path: Path, report_extra: dict[str, int]
) -> Iterator[tuple[int, dict | RowError]]:
    """Each invoice line as a purchase (value = quantity) by the customer, or by the
    invoice as an anonymous session when the customer id is missing. Cancellations
    (invoice numbers starting with C, or quantity <= 0) are skipped and counted."""
    for line, row in read_rows(path):
        if isinstance(row, RowError):
            yield line, row
        elif _cancelled(row):
            report_extra["cancellations skipped"] = report_extra.get("cancellations skipped", 0) + 1
        else:
            yield line, _online_retail_event(row, line)


def _cancelled(row: dict) -> bool:
    invoice = (row.get("invoiceno") or "").strip()
    try:
        return invoice.upper().startswith("C") or float((row.get("quantity") or "").strip()) <= 0
    except ValueError:
        return False  # the importer reports the bad quantity


def _online_retail_event(row: dict, line: int) -> dict:
    invoice = (row.get("invoiceno") or "").strip()
    customer = (row.get("customerid") or "").strip()
    if customer.endswith(".0"):
        customer = customer[:-2]
    when = (row.get("invoicedate") or "").strip()
    try:
        occurred_at = datetime.fromisoformat(when).replace(tzinfo=ONLINE_RETAIL_TZ).isoformat()
    except ValueError:
        occurred_at = when  # the importer reports it with the field name
    return {
        "event_id": f"{invoice}:{row.get('stockcode', '')}:{line}",
        "user": f"retail-{customer}" if customer else "",
        "session_id": "" if customer else f"invoice-{invoice}",
        "sku": (row.get("stockcode") or "").strip(),
        "type": "purchase",
        "value": (row.get("quantity") or "").strip(),
        "occurred_at": occurred_at,
        "context": {"invoice": invoice, "country": row.get("country", "")},
        "source": ONLINE_RETAIL_SOURCE,
    }
