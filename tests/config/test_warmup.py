"""Start-up warm-up: only the web process warms up, a failing step never stops it, and a
gunicorn master that preloads the application leaves it to each worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import warmup

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, **env: str) -> list[str]:
    """The last line a fresh process prints, in words: ``code`` run with ``env``."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.splitlines()[-1].split()


WARMED = "import sys; print('config.warmup' in sys.modules, 'tensorflow' in sys.modules)"


def test_a_management_command_does_not_warm_up():
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        f"call_command('check', verbosity=0); {WARMED}"
    )
    assert _python(code, WARMUP_ON_START="1") == ["False", "False"]


@pytest.mark.parametrize("enabled", ["1", "0"])
def test_the_wsgi_module_warms_up_when_the_setting_says_so(enabled, tmp_path):
    # An empty database: the warm-up's steps that read it fail, are logged, and the
    # application is still built.
    code = f"import config.wsgi; assert callable(config.wsgi.application); {WARMED}"
    printed = _python(
        code, WARMUP_ON_START=enabled, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    )
    assert printed == [str(enabled == "1"), "False"]


def test_a_failing_step_is_logged_and_the_warm_up_goes_on(caplog):
    # No database access in this test: the model and search steps fail.
    timings = warmup.web_process_warm_up()
    assert "urls" in timings
    assert "search" not in timings
    assert "Warm-up step 'search' failed" in caplog.text


@pytest.mark.parametrize(
    ("argv", "cmd_args", "preloads"),
    [
        (["/venv/bin/gunicorn", "config.wsgi", "--preload", "-w", "4"], "", True),
        (["/venv/bin/gunicorn", "config.wsgi", "-w", "4"], "--preload", True),
        (["/venv/bin/gunicorn", "config.wsgi", "-w", "4"], "", False),
        (["manage.py", "runserver", "--preload"], "", False),
    ],
)
def test_a_preloading_gunicorn_master_is_told_apart(argv, cmd_args, preloads):
    assert warmup._gunicorn_preloads(argv, {"GUNICORN_CMD_ARGS": cmd_args}) is preloads
