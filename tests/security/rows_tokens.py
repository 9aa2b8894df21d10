"""Permission-matrix rows: personal API tokens, their pages and their API.

Every role may keep tokens (``USE_API_TOKENS``). The token in the revoke rows belongs to the site coordinator: on
the pages, only its owner and the sponsor admin reach it; over the API, only its owner (the API manages own tokens).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from trials.services_tokens import api_token_create

from ..conftest import Cast
from .matrix import CO, SA, Row, plain, same


def coordinator_token_url(name: str) -> Callable[[Cast, Any], str]:
    def build(cast: Cast, patient: Any) -> str:
        owner = cast.user(CO)
        issued = api_token_create(actor=owner, owner=owner, name="matrix", expires_in_days=30, read_only=False)
        return reverse(name, kwargs={"pk": issued.token.pk})

    return build


ROWS: list[Row] = [
    ("tokens:list", plain("tokens:list"), "get", same(200)),
    ("tokens:create", plain("tokens:create"), "get", same(200)),
    ("tokens:revoke", coordinator_token_url("tokens:revoke"), "get", same(404, **{CO: 200, SA: 200})),
    ("tokens:admin_list", plain("tokens:admin_list"), "get", same(404, **{SA: 200})),
    ("tokens:admin_create", plain("tokens:admin_create"), "get", same(404, **{SA: 200})),
    ("api:token_list", plain("api:token_list"), "get", same(200)),
    ("api:token_revoke", coordinator_token_url("api:token_revoke"), "post", same(404, **{CO: 200})),
]
