"""The load generator the API benchmark drives gunicorn with: closed-loop clients
(threads, one request after another), the phases they measure, and their figures
(bench.search_load's percentiles and CPU snapshots)."""

from __future__ import annotations

import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from bench.search_load import cpu_snapshot, summary

# (rng, client number, request number) -> the request to time.
MakeRequest = Callable[[random.Random, int, int], urllib.request.Request]
# (status, body) -> (units done, errors): a request is 1 unit, a batch its stored events.
ReadResponse = Callable[[int, bytes], tuple[int, int]]


@dataclass
class Phase:
    """What a phase measured: per-request latencies (ms), errors, wall seconds, and the
    units the responses report done (requests, or stored events)."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    units: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, other: Phase) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.seconds += other.seconds
        self.units += other.units
        for key, value in other.cpu.items():
            self.cpu[key] = self.cpu.get(key, 0.0) + value


def read_ok(status: int, body: bytes) -> tuple[int, int]:
    return (1, 0) if status == 200 else (0, 1)


def drive(
    make: MakeRequest, read: ReadResponse, *, clients: int, requests: int, seed: int
) -> Phase:
    """``clients`` threads making ``requests`` requests each, one after another. ``read``
    judges every answer (a 4xx/5xx by its status and body; no answer at all as status 0)."""
    phase = Phase()
    lock = threading.Lock()

    def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        mine, units, errors = [], 0, 0
        for i in range(requests):
            request = make(rng, n, i)
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, body = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            except OSError:
                status, body = 0, b""
            mine.append((time.perf_counter() - t0) * 1000)
            done, failed = read(status, body)
            units += done
            errors += failed
        with lock:
            phase.latencies += mine
            phase.units += units
            phase.errors += errors

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.seconds = time.perf_counter() - t0
    return phase


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """os.environ with ``values`` set, for a child started inside (start_server passes
    os.environ on), restored after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measured(server_pid: int, run: Callable[[], Phase]) -> Phase:
    before = cpu_snapshot(server_pid)
    phase = run()
    after = cpu_snapshot(server_pid)
    phase.cpu = {key: after[key] - before[key] for key in after}
    return phase


def figures(phase: Phase) -> dict:
    report = summary(phase.latencies, phase.errors, phase.seconds)
    n = max(report["requests"], 1)
    report["cpu_ms_per_request"] = {k: round(v * 1000 / n, 2) for k, v in phase.cpu.items()}
    if "web" in phase.cpu and phase.seconds:
        # The web server's CPU time over the wall time: near 1 per worker when the
        # clients keep it busy; well under 1 when they (or I/O waits) hold it back.
        report["web_busy"] = round(phase.cpu["web"] / phase.seconds, 2)
    return report
