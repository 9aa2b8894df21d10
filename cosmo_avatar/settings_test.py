"""Test settings: the real settings with the traps of pytest removed.

pytest forces DEBUG off, which would select the manifest static storage and 500 without collectstatic; fast password
hashing; Playwright's sync API runs inside Django tests, which needs the async-unsafe escape hatch (tests only).
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "True")

from .settings import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
AXES_VERBOSE = False

# Tests run tasks in-process and deterministically, whatever broker the environment names; the tests that need a
# real worker (tests/outcomes/test_worker_end_to_end.py) switch eager mode off for themselves.
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
