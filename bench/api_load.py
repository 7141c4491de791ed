"""The mobile app's API under load, beside a bare DRF endpoint, in the same run.

    python -m bench.api_load --json OUT [--products 100000] [--users 2000]
        [--clients 2] [--requests 500] [--rounds 3] [--batches 20] [--batch-size 500]
        [--workers 1] [--quick]

Builds the synthetic shop of bench.search_load (catalogue, shoppers with histories, half
of them opted out of personalization), trains a small model and activates it, runs the
product's refresh so every shopper has their cached top-K, then serves the project with
gunicorn on 127.0.0.1 (``--workers``, one by default) and drives, with ``--clients``
concurrent clients making ``--requests`` requests each per phase:

- ``bare``: ``GET /api/v1/bench/bare/``, a constant behind the same stack as every v1
  view (bench._api_urls), with a shopper's ``Authorization: Bearer`` access token;
- ``recommendations``: ``GET /api/v1/recommendations/`` as the same shoppers;
- ``search``: ``GET /api/v1/search/?q=...&page_size=24`` as the same shoppers (Bearer);
- ``storefront_search``: ``GET /search/?q=...&page_size=24``, the same queries in the same
  order, as the same shoppers signed in to the storefront (a session cookie);
- ``ingest``: ``POST /api/v1/events/``, ``--batches`` batches of ``--batch-size`` events
  per client and phase, each batch from another shopper (not one of the above, so
  their fresh events do not touch the shoppers whose recommendations are timed).

Every phase runs once per round (``--rounds``), in that order, every other round the
GET kinds in the opposite order: each kind sees the machine as its neighbours do, and
none always follows another. Before the first round every search query is asked once
(their matches are cached per query, for all shoppers) and every kind is warmed up
(the worker loads the model). One sync worker serves one request at a time: with N
clients each request waits behind up to N - 1 others (p99 is up to N service times),
and with too few the worker idles while the clients prepare their next requests. The
default, 2, is the fewest that keep one worker busy when a client needs less time per
request than the server; each kind's ``web_busy`` (the server's CPU seconds per wall
second) says whether they did (near 1 when the worker never waited on clients or I/O).
Both searches report ``personalized_share``, the share of answers in the shopper's
personalized order (the run stops if either kind has none while warming up).
Shoppers' tokens are minted in the benchmark (simplejwt's ``AccessToken.for_user``),
valid for the whole run.

Writes {"bare": {"rps", "p50_ms", "p95_ms", "p99_ms", "errors", "requests",
"cpu_ms_per_request", "web_busy"}, "recommendations": {...}, "search": {...},
"storefront_search": {...}, "ingest": {"events_per_second", "errors", "events", ...},
"ratios": {...}, "targets": {...}, ...}: figures pooled over the rounds; each ratio is
the median of its per-round ratios. Ingest's ``errors`` counts events not stored
(refused rows, duplicates, rows of failed requests). Uses its own database
(bench/_django.py): Postgres when DATABASE_URL names one, Redis when REDIS_URL does.
Refresh tasks that the ingested events queue stay in the broker: no worker runs, as
in production a worker would take them off the web process. ``--quick`` is a smoke run
on a tiny shop (under two minutes).
"""

from __future__ import annotations

import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

from bench import _django
from bench._api_traffic import BARE_PATH, GET_KINDS, KINDS, SEARCH_KINDS, Traffic
from bench._common import command_line, report_write, synthetic_shop_parser
from bench._load import (
    Phase,
    environment,
    figures,
    measured,
)
from bench.search_load import (
    build_data,
    free_port,
    session_cookies,
    start_server,
    train_and_activate,
    wait_up,
)

# Shoppers whose requests are timed (and as many again who send event batches).
MAX_SHOPPERS = 400
# The tokens outlive any run (the configured access lifetime is 15 minutes).
TOKEN_LIFETIME = timedelta(hours=6)
# The gunicorn's settings: the project's, with bench._api_urls serving BARE_PATH too.
SETTINGS_MODULE = "bench._api_settings"
QUICK = {
    "products": 400,
    "users": 40,
    "clients": 2,
    "requests": 5,
    "rounds": 1,
    "batches": 2,
    "batch_size": 100,
}
# The targets: (figure, "min" or "max", bound).
TARGETS = {
    "recommendations_vs_bare_rps": ("min", 0.8),
    "recommendations_p99_ms": ("max", 15.0),
    "ingest_events_per_second": ("min", 5000.0),
    "search_vs_storefront_rps": ("min", 0.9),
}


def bearer_tokens(user_ids: list[int]) -> dict[int, str]:
    """An access token per shopper, as sign-in would issue it, valid for the run."""
    # Imported once _django.setup() has configured Django (simplejwt reads settings).
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    tokens = {}
    for user in get_user_model().objects.filter(pk__in=user_ids):
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=TOKEN_LIFETIME)
        tokens[user.pk] = str(token)
    return tokens


def collect_static() -> None:
    """collectstatic into the gunicorn's STATIC_ROOT (bench._api_settings): with DEBUG
    off the storefront's pages name their assets through the manifest it writes."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=_django.ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, "DEBUG": "0"},
        check=True,
    )


def target_checks(report: dict) -> dict:
    values = {
        "recommendations_vs_bare_rps": report["ratios"]["recommendations_vs_bare_rps"],
        "recommendations_p99_ms": report["recommendations"]["p99_ms"],
        "ingest_events_per_second": report["ingest"]["events_per_second"],
        "search_vs_storefront_rps": report["ratios"]["search_vs_storefront_rps"],
    }
    checks = {}
    for name, (kind, bound) in TARGETS.items():
        value = values[name]
        met = value >= bound if kind == "min" else value <= bound
        checks[name] = {"value": value, kind: bound, "met": met}
    return checks


def parse_args(argv: list[str] | None):
    parser = synthetic_shop_parser(__doc__, products=100_000, users=2_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--requests", type=int, default=500, help="per client and phase")
    parser.add_argument("--rounds", type=int, default=3, help="every phase once a round")
    parser.add_argument("--batches", type=int, default=20, help="event batches per client")
    parser.add_argument("--batch-size", type=int, default=500, help="events per batch")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run on a tiny shop: {QUICK}")
    args = parser.parse_args(argv)
    if args.quick:  # the quick sizes, unless given on the command line
        parser.set_defaults(**QUICK)
        args = parser.parse_args(argv)
    return args


def measure(
    traffic: Traffic, server_pid: int, *, rounds: int, requests: int, batches: int
) -> tuple[dict[str, Phase], dict[str, list[float]]]:
    """Every kind once a round, every other round the GET kinds in the opposite order
    (no kind always follows another): the pooled phases, and each round's rate."""
    totals = {kind: Phase() for kind in KINDS}
    per_round: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for round_ in range(rounds):
        for kind in KINDS if round_ % 2 == 0 else (*reversed(GET_KINDS), "ingest"):
            n = batches if kind == "ingest" else requests
            phase = measured(server_pid, partial(traffic.phase, kind, round_, n, f"r{round_}"))
            totals[kind].add(phase)
            rate = phase.units / phase.seconds if phase.seconds else 0.0
            per_round[kind].append(round(rate, 1))
            unit = "events/s" if kind == "ingest" else "req/s"
            print(
                f"round {round_ + 1} {kind}: {rate:,.1f} {unit}, errors {phase.errors}", flush=True
            )
    return totals, per_round


def figures_report(
    totals: dict[str, Phase], per_round: dict[str, list[float]], batch_size: int
) -> dict:
    """The contract's figures, the ratios (medians of the per-round ratios) and the
    targets."""
    report: dict = {kind: figures(totals[kind]) for kind in GET_KINDS}
    ingest = figures(totals["ingest"])
    ingest["batches_per_second"] = ingest.pop("rps")
    ingest["events_per_second"] = round(totals["ingest"].units / totals["ingest"].seconds, 1)
    ingest["events"] = totals["ingest"].units
    ingest["batch_size"] = batch_size
    report["ingest"] = ingest

    def ratio(a: str, b: str) -> float:
        pairs = zip(per_round[a], per_round[b], strict=True)
        return round(statistics.median(x / max(y, 1e-9) for x, y in pairs), 3)

    report["ratios"] = {
        "recommendations_vs_bare_rps": ratio("recommendations", "bare"),
        "search_vs_storefront_rps": ratio("search", "storefront_search"),
    }
    report["targets"] = target_checks(report)
    report["per_round"] = per_round
    return report


def print_report(report: dict) -> None:
    for kind in KINDS:
        m = report[kind]
        if kind == "ingest":
            rate = f"{m['events_per_second']:9,.1f} events/s"
        else:
            rate = f"{m['rps']:7.1f} req/s"
        print(
            f"{kind:18s} {rate}  p50 {m['p50_ms']} ms  p99 {m['p99_ms']} ms  errors {m['errors']}"
            f"  web busy {m.get('web_busy')}  CPU ms/request {m['cpu_ms_per_request']}"
            + (f"  personalized {m['personalized_share']}" if "personalized_share" in m else "")
        )
    first = report.get("recommendations_first_ask")
    if first:
        print(
            f"recommendations, each shopper's first ask (warm-up, not timed against the "
            f"targets): p50 {first['p50_ms']} ms  p99 {first['p99_ms']} ms  "
            f"errors {first['errors']}"
        )
    for name, check in report["targets"].items():
        bound = f">= {check['min']}" if "min" in check else f"<= {check['max']}"
        print(f"target {name}: {check['value']} ({bound}) {'met' if check['met'] else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    vendor = _django.setup("api_load")
    data = build_data(products=args.products, users=args.users, rng=random.Random(7))
    print(
        f"{vendor}: {args.products:,} products, {len(data['user_ids']):,} shoppers, "
        f"{data['events']:,} events ({time.perf_counter() - t0:.0f}s)",
        flush=True,
    )
    trained = train_and_activate()
    print(f"model trained and active ({trained['train_seconds']}s)", flush=True)
    personal = [u for u in data["user_ids"] if u not in data["opted_out"]]
    half = min(len(personal) // 2, MAX_SHOPPERS)
    readers, senders = personal[:half], personal[half : 2 * half]
    tokens = bearer_tokens(readers + senders)
    cookies = session_cookies(readers)
    port = free_port()
    traffic = Traffic(
        base=f"http://127.0.0.1:{port}",
        reader_tokens=[tokens[u] for u in readers],
        reader_cookies=[cookies[u] for u in readers],
        sender_tokens=[tokens[u] for u in senders],
        skus=[f"L{i:07d}" for i in range(args.products)],
        clients=args.clients,
        batch_size=args.batch_size,
    )
    collect_static()
    with environment(DJANGO_SETTINGS_MODULE=SETTINGS_MODULE):
        server = start_server(
            Path(_django.ROOT), port, args.workers, os.environ.get("CACHE_KEY_PREFIX", "")
        )
    try:
        wait_up(traffic.base + BARE_PATH)
        traffic.warm_up()
        totals, per_round = measure(
            traffic, server.pid, rounds=args.rounds, requests=args.requests, batches=args.batches
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    report = figures_report(totals, per_round, args.batch_size)
    # The timed figures are of returning shoppers; this is what their first ask cost.
    report["recommendations_first_ask"] = figures(traffic.first_ask)
    for kind in SEARCH_KINDS:
        served = max(report[kind]["requests"], 1)
        report[kind]["personalized_share"] = round(traffic.personalized[kind] / served, 3)
    report.update(
        {
            "database": vendor,
            "redis": bool(os.environ.get("REDIS_URL")),
            "products": args.products,
            "shoppers": len(data["user_ids"]),
            "timed_shoppers": len(readers),
            "ingesting_shoppers": len(senders),
            "clients": args.clients,
            "gunicorn_workers": args.workers,
            "requests_per_client_per_phase": args.requests,
            "batches_per_client_per_phase": args.batches,
            "rounds": args.rounds,
            "quick": args.quick,
            "host": {
                "cpu_count": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "model": trained,
            "seconds": round(time.perf_counter() - t0, 1),
            "command": command_line("bench.api_load", argv),
        }
    )
    print_report(report)
    report_write(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
