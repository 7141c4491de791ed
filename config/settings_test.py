"""Test settings: the production settings with a throwaway key and plain HTTP."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks-123456")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from config.settings import *  # noqa: E402,F403
from config.settings import BASE_DIR  # noqa: E402

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MODEL_ROOT = BASE_DIR / "var" / "test-models"
# Unit tests run tasks in process even when REDIS_URL is set; the integration tests
# (tests/recommender/test_worker_integration.py) switch to a real broker and worker.
CELERY_TASK_ALWAYS_EAGER = True
# Tests that import config.wsgi do not warm a model up (tests of the warm-up set the
# variable in the processes they start).
WARMUP_ON_START = os.environ.get("WARMUP_ON_START") == "1"
# WhiteNoise warns on every request when the collected-static folder is missing.
(BASE_DIR / "staticfiles").mkdir(exist_ok=True)
