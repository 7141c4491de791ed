"""Freshness benchmark: from a shopper's new event to their updated recommendations.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python -m bench.freshness --json OUT

Sets up its own database (bench/_django.py) with the demo data, trains a small model,
starts a real Celery worker (a subprocess on the same Redis broker and database),
then, for N events over M shoppers, POSTs each event to the app's ingestion API
(/api/v1/events/, the shopper logged in) and waits until that shopper's cached top-K
(the Postgres row the worker rewrites) is newer than the event. Writes
{"p50_seconds", "p95_seconds", "n", ...}. The worker is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import _django
from bench._common import report_write

ROOT = Path(__file__).resolve().parent.parent


def start_worker(env: dict) -> subprocess.Popen:
    path = ROOT / "var" / "bench" / "freshness-worker.log"
    path.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/bench/
    log = path.open("w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "threads",
            "-c",
            "2",
            "-Q",
            "celery,training",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", required=True)
    parser.add_argument("--events", type=int, default=60, help="N events")
    parser.add_argument("--users", type=int, default=20, help="over M shoppers")
    parser.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for one update"
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("REDIS_URL must name a Redis server: the benchmark measures a real worker")

    _django.setup("freshness")
    from django.core.management import call_command
    from django.test import Client

    from config.celery import app
    from recommender.models import ModelVersion, UserRecommendation
    from shop.models import Event, Product

    app.conf.task_always_eager = False
    call_command("load_demo", no_progress=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command(
        "train", "--set", "max_train_seconds=60", "--set", "max_epochs=4", stdout=sys.stdout
    )
    version = ModelVersion.objects.get(is_active=True)
    # The activation queued a full refresh; nothing is consuming yet. Measure each user
    # against their own row instead, so the order of the two does not matter.
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"]}
    worker = start_worker(env)
    try:
        client = Client()
        user_ids = list(
            Event.objects.filter(user__isnull=False)
            .values_list("user_id", flat=True)
            .distinct()
            .order_by("user_id")[: args.users]
        )
        skus = list(
            Product.objects.filter(is_active=True, stock__gt=0)
            .order_by("?")
            .values_list("sku", flat=True)[: args.events]
        )
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.in_bulk(user_ids)
        # Warm up: the worker loads the model on its first task.
        deadline = time.monotonic() + 120
        while (
            not UserRecommendation.objects.filter(model_version=version).exists()
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        latencies: list[float] = []
        timeouts = 0
        for n in range(args.events):
            user = users[user_ids[n % len(user_ids)]]
            before = (
                UserRecommendation.objects.filter(user=user)
                .values_list("computed_at", flat=True)
                .first()
            )
            client.force_login(user)
            body = {
                "events": [
                    {
                        "event_id": f"fresh-{n}",
                        "type": "view",
                        "sku": skus[n % len(skus)],
                        "occurred_at": time.time(),
                    }
                ]
            }
            started = time.monotonic()
            response = client.post(
                "/api/v1/events/", data=json.dumps(body), content_type="application/json"
            )
            if response.status_code >= 300:
                raise SystemExit(
                    f"ingestion failed: {response.status_code} {response.content[:300]!r}"
                )
            while True:
                row = (
                    UserRecommendation.objects.filter(user=user)
                    .values_list("computed_at", flat=True)
                    .first()
                )
                if row is not None and (before is None or row > before):
                    latencies.append(time.monotonic() - started)
                    break
                if time.monotonic() - started > args.timeout:
                    timeouts += 1
                    break
                time.sleep(0.01)
            time.sleep(0.35)  # past the debounce window, so every event is its own update
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    if not latencies:
        raise SystemExit("no update arrived; see var/bench/freshness-worker.log")
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))]
    result = {
        "p50_seconds": statistics.median(latencies),
        "p95_seconds": p95,
        "max_seconds": latencies[-1],
        "n": len(latencies),
        "timeouts": timeouts,
        "users": len(user_ids),
        "debounce_seconds": 0.3,
        "model_version": version.pk,
    }
    print(
        f"event -> updated top-K: p50 {result['p50_seconds']:.3f} s, p95 {p95:.3f} s over {len(latencies)} events ({timeouts} timeouts)"
    )
    report_write(args.json, result)


if __name__ == "__main__":
    main()
