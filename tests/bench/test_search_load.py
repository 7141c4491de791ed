"""bench.search_load end to end on a tiny catalogue: its JSON contract, and the same-run
baseline (here the same checkout, served a second time)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_load_benchmark_writes_its_figures_and_the_baselines(tmp_path):
    out = tmp_path / "load.json"
    env = {**os.environ, "DATABASE_URL": "", "REDIS_URL": ""}  # SQLite, no Redis
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.search_load",
            "--json",
            str(out),
            "--products",
            "400",
            "--users",
            "24",
            "--clients",
            "2",
            "--requests",
            "3",
            "--rounds",
            "1",
            "--workers",
            "1",
            "--baseline",
            str(ROOT),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    for figures in (report, report["baseline"]):
        for kind in ("lexical", "personalized"):
            assert {"rps", "p50_ms", "p95_ms", "p99_ms", "errors"} <= set(figures[kind])
            assert figures[kind]["errors"] == 0
            assert figures[kind]["requests"] == 2 * 3
    assert report["first_request_ms"] > 0  # the first search once the server answers
    assert report["first_request_cold_ms"] > 0  # the same without the start-up warm-up
    assert report["baseline"]["first_request_ms"] > 0
    assert report["vs_baseline"]["personalized_p95_ms"] > 0
    assert report["throughput_ratio"] > 0
    assert "against the baseline" in result.stdout
