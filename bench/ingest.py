"""Ingest benchmark: load a generated batch of events through the import_events path.

    python -m bench.ingest --json OUT [--events 500000]

Generates products, then a CSV of events (several types, users and anonymous sessions,
90 days of timestamps), and loads it with the same functions as `manage.py
import_events` (read_rows -> import_event_rows: validation, SKU/user resolution,
batched idempotent writes, the popularity refresh). Then loads the same file again to
time the idempotent re-run. Writes {"events_per_second", "events", ...}.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import _django

TYPES = ["view"] * 60 + ["click"] * 20 + ["add_to_cart"] * 10 + ["purchase"] * 5 + ["search"] * 5


def generate(path: Path, *, events: int, products: int, users: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "event_id",
                "user",
                "session_id",
                "sku",
                "type",
                "value",
                "query",
                "position",
                "occurred_at",
            ]
        )
        for n in range(events):
            kind = rng.choice(TYPES)
            anonymous = rng.random() < 0.2
            sku = "" if kind == "search" else f"BENCH-{int(rng.paretovariate(1.2)) % products:06d}"
            writer.writerow(
                [
                    f"b{n}",
                    "" if anonymous else f"bench-user-{rng.randrange(users)}",
                    f"sess-{rng.randrange(users * 2)}" if anonymous else "",
                    sku,
                    kind,
                    rng.randint(1, 3) if kind in ("add_to_cart", "purchase") else "",
                    "red nail polish" if kind == "search" else "",
                    rng.randint(1, 24) if kind == "click" else "",
                    (start + timedelta(seconds=n * 15)).isoformat(),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", required=True, help="write the figures here")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50_000)
    args = parser.parse_args()

    vendor = _django.setup("ingest")
    from shop.importers import import_event_rows, read_rows
    from shop.models import Event, Product

    Product.objects.bulk_create(
        [Product(sku=f"BENCH-{i:06d}", title=f"Bench product {i}") for i in range(args.products)],
        batch_size=5000,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.csv"
        generate(path, events=args.events, products=args.products, users=args.users)
        errors: list = []
        started = time.perf_counter()
        report = import_event_rows(read_rows(path), file_name=path.name, on_error=errors.append)
        seconds = time.perf_counter() - started
        rerun_started = time.perf_counter()
        rerun = import_event_rows(read_rows(path), file_name=path.name, on_error=errors.append)
        rerun_seconds = time.perf_counter() - rerun_started
    stored = Event.objects.count()
    result = {
        "events_per_second": report.created / seconds,
        "events": report.created,
        "seconds": seconds,
        "failed_rows": report.failed,
        "stored_events": stored,
        "rerun_seconds": rerun_seconds,
        "rerun_created": rerun.created,
        "rerun_events_per_second": args.events / rerun_seconds,
        "database": vendor,
        "median_of": 1,
        "batch_size": 5000,
    }
    assert stored == report.created == args.events and rerun.created == 0, result
    print(
        f"ingest ({vendor}): {report.created:,} events in {seconds:.1f} s = {result['events_per_second']:,.0f} events/s"
    )
    print(f"re-run (all duplicates): {rerun_seconds:.1f} s, {rerun.created} created")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
