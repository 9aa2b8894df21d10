"""Settings of the load benchmark (``benchmarks/load.py``) only: production settings, changed only where the
benchmark needs it. Never used to serve the trial.

The benchmark runs gunicorn with these settings and the production environment (``DJANGO_DEBUG=False``, a
``DATABASE_URL``, Redis as broker and cache, ``DATABASE_CONN_MAX_AGE`` as in docker-compose.yml); requests carry
``X-Forwarded-Proto: https`` as the TLS-ending reverse proxy's would, so the HTTPS redirect stays on.

Left as in production, on purpose:
- Two-factor sign-in (``TWO_FACTOR_REQUIRED_ROLES``): the benchmark's users are site coordinators, a role that does
  not require it, and they call the API with personal tokens, which the second factor never applies to
  (``trials.two_factor``: the middleware exempts ``/api/``, ``TwoFactorVerified`` checks browser sessions only).
- The rate limiter still runs on every request (its cache round trips are part of the cost measured), at a limit no
  run reaches.
"""

from .settings import *  # noqa: F403

# The product's URLs plus the bare one-row insert the CRF save is compared with; the bare view exists only here.
ROOT_URLCONF = "cosmo_avatar.urls_bench"

# Production allows 600 requests a minute per user; the benchmark sends up to ~100 saves a second with a handful of
# users. Read per request by trials.api_auth.UserRateThrottle.
API_RATE_LIMIT = "1000000/second"
