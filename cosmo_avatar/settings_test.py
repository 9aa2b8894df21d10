"""Test settings: the real settings with the traps of pytest removed.

pytest forces DEBUG off, which would select the manifest static storage and 500 without collectstatic; fast password
hashing; Playwright's sync API runs inside Django tests, which needs the async-unsafe escape hatch (tests only).
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_DEBUG", "True")

from .settings import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Files written by tests (data cuts) go to a scratch directory, never the project's media/.
# One folder per test process: pytest-xdist workers number their databases alike, so data-cut paths would collide.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="cosmo-avatar-test-media-"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
AXES_VERBOSE = False

# Tests run tasks in-process and deterministically, whatever broker the environment names; the tests that need a
# real worker (tests/outcomes/test_worker_end_to_end.py) switch eager mode off for themselves.
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Two-factor sign-in is required by role in production (settings.TWO_FACTOR_REQUIRED_ROLES). The suite's ~1,900
# tests sign in with client.force_login or through the login page only; they test their own features, not the
# second factor. The two-factor tests (tests/trials/test_two_factor.py, tests/browser/test_two_factor.py) switch
# the production roles back on with override_settings and assert the production default separately.
TWO_FACTOR_REQUIRED_ROLES = ()

# The API rate limit is tested with its own tiny rate (tests/trials/test_api_rate_limit.py); elsewhere the suite's
# many API calls (schemathesis) must not trip it.
API_RATE_LIMIT = "100000/minute"
