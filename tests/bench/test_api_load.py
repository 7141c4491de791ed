"""bench.api_load: its quick mode end to end (the JSON contract, no errors), its bare
baseline endpoint, and how it counts what it measures."""

import json
import os
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from bench._api_traffic import BARE_PATH, ingest_read, personalized
from bench._api_urls import BARE_BODY
from bench._load import Phase, drive, figures, read_ok
from bench.api_load import QUICK, parse_args, target_checks

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {"rps", "p50_ms", "p99_ms", "errors"}


def test_the_quick_run_writes_every_figure_of_the_contract_without_errors(tmp_path):
    out = tmp_path / "api.json"
    env = {**os.environ, "DATABASE_URL": "", "REDIS_URL": ""}  # SQLite, no Redis
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench.api_load", "--json", str(out), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    requests = QUICK["clients"] * QUICK["requests"] * QUICK["rounds"]
    for kind in ("bare", "recommendations", "search", "storefront_search"):
        assert set(report[kind]) >= FIGURES, kind
        assert report[kind]["errors"] == 0, kind
        assert report[kind]["requests"] == requests, kind
        assert report[kind]["rps"] > 0, kind
    for kind in ("search", "storefront_search"):  # both ordered for their shoppers
        assert report[kind]["personalized_share"] > 0, kind
    ingest = report["ingest"]
    assert {"events_per_second", "errors"} <= set(ingest)
    assert ingest["errors"] == 0
    events = QUICK["clients"] * QUICK["batches"] * QUICK["batch_size"] * QUICK["rounds"]
    assert ingest["events"] == events
    assert ingest["events_per_second"] > 0
    first = report["recommendations_first_ask"]
    assert set(first) >= FIGURES and first["errors"] == 0
    assert first["requests"] >= report["timed_shoppers"]
    assert report["ratios"]["recommendations_vs_bare_rps"] > 0
    assert report["ratios"]["search_vs_storefront_rps"] > 0
    assert set(report["targets"]) == {
        "recommendations_vs_bare_rps",
        "recommendations_p99_ms",
        "ingest_events_per_second",
        "search_vs_storefront_rps",
    }
    assert report["gunicorn_workers"] == 1
    assert report["quick"] is True
    assert "target recommendations_vs_bare_rps" in result.stdout


@pytest.mark.django_db
@pytest.mark.urls("bench._api_urls")
def test_the_bare_endpoint_answers_a_constant_behind_the_v1_stack(client, django_user_model):
    user = django_user_model.objects.create_user(username="bare", password="x")
    token = AccessToken.for_user(user)
    response = client.get(BARE_PATH, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == BARE_BODY
    assert response.wsgi_request.user == user  # the token was read, as on every v1 view
    refused = client.get(BARE_PATH, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"


@pytest.mark.urls("bench._api_urls")
def test_the_bench_urlconf_keeps_every_project_url_and_name():
    assert reverse("v1:search") == "/api/v1/search/"
    assert reverse("v1:recommendations") == "/api/v1/recommendations/"
    assert reverse("v1:events") == "/api/v1/events/"
    assert reverse("shop:search") == "/search/"


def test_a_batch_counts_its_stored_events_and_the_rest_as_errors():
    read = ingest_read(500)
    assert read(200, b'{"created": 500, "duplicates": 0, "errors": []}') == (500, 0)
    assert read(207, b'{"created": 490, "duplicates": 3, "errors": []}') == (490, 10)
    assert read(429, b'{"code": "throttled"}') == (0, 500)
    assert read(0, b"") == (0, 500)
    assert read(200, b"not json") == (0, 500)


def test_only_a_200_counts_as_a_served_request():
    assert read_ok(200, b"") == (1, 0)
    assert read_ok(304, b"") == (0, 1)
    assert read_ok(500, b"") == (0, 1)


class _Flaky(BaseHTTPRequestHandler):
    """Every third request is a 500."""

    count = 0

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).count += 1
        self.send_response(500 if type(self).count % 3 == 0 else 200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_the_load_generator_counts_failed_requests_as_errors():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        phase = drive(
            lambda rng, client, n: urllib.request.Request(url),
            read_ok,
            clients=1,
            requests=9,
            seed=0,
        )
    finally:
        server.shutdown()
    assert len(phase.latencies) == 9
    assert (phase.units, phase.errors) == (6, 3)
    assert phase.seconds > 0


def test_quick_sizes_give_way_to_options_on_the_command_line():
    args = parse_args(["--json", "x.json", "--quick", "--requests", "7"])
    assert args.requests == 7
    assert args.products == QUICK["products"]
    assert args.batch_size == QUICK["batch_size"]
    full = parse_args(["--json", "x.json"])
    assert (full.products, full.workers, full.batch_size) == (100_000, 1, 500)


def _report(*, ratio, p99, events, search):
    return {
        "ratios": {"recommendations_vs_bare_rps": ratio, "search_vs_storefront_rps": search},
        "recommendations": {"p99_ms": p99},
        "ingest": {"events_per_second": events},
    }


def test_targets_are_checked_against_the_issues_bounds():
    met = target_checks(_report(ratio=0.8, p99=15.0, events=5000.0, search=0.9))
    assert all(check["met"] for check in met.values())
    missed = target_checks(_report(ratio=0.79, p99=15.1, events=4999.0, search=0.89))
    assert not any(check["met"] for check in missed.values())
    assert missed["recommendations_p99_ms"] == {"value": 15.1, "max": 15.0, "met": False}


def test_phases_add_up_over_rounds():
    total = Phase()
    total.add(Phase(latencies=[1.0], errors=1, seconds=2.0, units=3, cpu={"web": 0.5}))
    total.add(Phase(latencies=[2.0], errors=0, seconds=1.0, units=4, cpu={"web": 0.25}))
    assert (total.latencies, total.errors, total.seconds, total.units) == ([1.0, 2.0], 1, 3.0, 7)
    assert total.cpu == {"web": 0.75}


def test_figures_say_how_busy_the_web_server_was():
    phase = Phase(latencies=[1.0, 2.0, 3.0, 4.0], seconds=2.0, units=4, cpu={"web": 1.5})
    report = figures(phase)
    assert report["web_busy"] == 0.75
    assert report["cpu_ms_per_request"] == {"web": 375.0}
    assert report["rps"] == 2.0


def test_a_search_answer_counts_as_personalized_only_when_it_says_so():
    assert personalized("search", b'{"personalized": true, "results": []}')
    assert not personalized("search", b'{"personalized": false}')
    assert not personalized("search", b"<html>")
    page = "<p>3 results for “drill” · ordered for you</p>".encode()
    assert personalized("storefront_search", page)
    assert not personalized("storefront_search", b"<p>3 results</p>")
