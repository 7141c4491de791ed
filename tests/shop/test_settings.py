"""Settings from the environment, checked the way an operator meets them: ``manage.py``
in a clean environment. Every subprocess points DATABASE_URL at a SQLite file under
tmp_path, so none of them can touch the real database."""

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# A random 60-character key: long and varied enough for check --deploy (security.W009).
STRONG_KEY = "".join(
    secrets.choice(string.ascii_letters + string.digits + "!@#%^*-_=+") for _ in range(60)
)


def run_python(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in the repository with only PATH, HOME, a throwaway DATABASE_URL and
    env_vars.

    Nothing leaks in from the test run: no DJANGO_SETTINGS_MODULE (manage.py defaults to
    config.settings), no SECRET_KEY, DEBUG, REDIS_URL or real DATABASE_URL.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **env_vars,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess:
    return run_python(tmp_path, "manage.py", *args, **env_vars)


def check_deploy(tmp_path: Path, secret_key: str) -> subprocess.CompletedProcess:
    """``manage.py check --deploy`` failing on warnings, with production settings."""
    return run_manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="shop.example.com",
    )


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


@pytest.mark.parametrize("debug", [None, "0", "false", "off"])
def test_production_without_a_secret_key_refuses_to_start_and_names_it(tmp_path, debug):
    extra = {} if debug is None else {"DEBUG": debug}

    result = run_manage(tmp_path, "check", ALLOWED_HOSTS="shop.example.com", **extra)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start_and_names_it(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="0", SECRET_KEY=STRONG_KEY)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_settings_pass_check_deploy_without_a_warning(tmp_path):
    result = check_deploy(tmp_path, STRONG_KEY)

    assert result.returncode == 0, output(result)
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in output(result)
    assert "security.W" not in output(result)


def test_a_weak_secret_key_fails_check_deploy(tmp_path):
    """The check above is not vacuous: check --deploy does look at these settings."""
    result = check_deploy(tmp_path, "short")

    assert result.returncode != 0
    assert "security.W009" in output(result)


def test_development_with_debug_and_nothing_else_passes_check(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="1")

    assert result.returncode == 0, output(result)
    assert "System check identified no issues" in result.stdout


def test_embedded_default_is_sqlite_under_var_and_a_local_memory_cache(tmp_path):
    """With DEBUG=1 and no DATABASE_URL or REDIS_URL the shop runs on SQLite under var/.

    Only the settings are read (nothing connects), so the real var/db.sqlite3 is untouched.
    """
    script = (
        "import json; from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), "
        "'cache': settings.CACHES['default']['BACKEND'], 'debug': settings.DEBUG, "
        "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'hosts': settings.ALLOWED_HOSTS}))"
    )
    result = run_python(
        tmp_path,
        "-c",
        script,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        DATABASE_URL="",  # empty means "not set": the embedded default
    )

    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["engine"] == "django.db.backends.sqlite3"
    assert Path(config["name"]) == REPO_ROOT / "var" / "db.sqlite3"
    assert config["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert config["debug"] is True
    assert config["eager"] is True
    assert "localhost" in config["hosts"]


def test_the_throwaway_database_url_is_used_by_manage_py(tmp_path):
    """The subprocesses above really use the SQLite file under tmp_path."""
    result = run_manage(tmp_path, "migrate", "--no-input", "-v", "0", DEBUG="1")

    assert result.returncode == 0, output(result)
    assert (tmp_path / "db.sqlite3").exists()
