"""OpenAPI (drf-spectacular) description of the personal API token authentication.

drf-spectacular finds extensions by subclass registration, so this module must be imported before a schema is
built: ``TrialsConfig.ready`` imports it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

AUTHENTICATION_DESCRIPTION = """\
A personal API token, sent on every request as `Authorization: Token edc_<prefix>_<secret>`
(`Authorization: Bearer edc_…` works too; this page's *Authorize* button sends the latter).

- Create one on the **API tokens** page of the user menu (signed in, in the browser) or with
  `POST /api/v1/tokens/` from a signed-in session (this page, signed in). A token cannot create tokens.
  The token is shown once; only its hash is stored.
- It acts as you: the same sites and the same rights as your browser session. A *read-only* token answers 403 to
  anything but GET, HEAD and OPTIONS.
- It expires (default 90 days, at most 365) and you can revoke it at any time (`POST /api/v1/tokens/{id}/revoke/`
  or the page); a sponsor admin can revoke it too. Expired, revoked and deactivated-account tokens answer 401.
- Every user is rate limited (token and session together): responses carry `X-RateLimit-Limit`,
  `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix time) and `RateLimit-Limit`, `RateLimit-Remaining`,
  `RateLimit-Reset` (seconds); over the limit the answer is 429 with `Retry-After`.
"""


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "trials.api_auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "edc_<prefix>_<secret>",
            "description": AUTHENTICATION_DESCRIPTION,
        }
