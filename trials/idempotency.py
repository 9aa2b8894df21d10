"""``Idempotency-Key`` on API creates: a retried ``POST`` creates its record once.

A client that sends a create and loses the answer (a dropped connection, a proxy timeout, the server restarted after
the commit) cannot know whether the record exists. Forms with one record per visit refuse a second copy anyway; a
repeating log (adverse events, therapy lines, ...) would get a duplicate. With the header (the IETF httpapi draft
"The Idempotency-Key HTTP Header Field"), the client can simply send the same request again:

- first time: the record is created, and the key with a fingerprint of the request (method, path, JSON body) is
  stored in the same transaction (``ApiIdempotencyKey``);
- the same key with the same request again: **201** with the record as it is now and ``Idempotent-Replayed: true``;
  nothing is created;
- the same key with a different request: **422**, nothing is created;
- two requests with one key at the same moment: one creates, the other answers **409** (the unique key) and may be
  retried, which then replays;
- a malformed key (empty, longer than 255 characters, not printable ASCII): **400**.

Keys are per user: another user's key of the same text is another key. Without the header a create behaves as before.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from .models import ApiIdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
REUSED = (
    "This Idempotency-Key was already used for a different request (another path or body); nothing was created. "
    "Use a new key for a new request."
)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, no spaces (the draft's examples: UUIDs, random strings)


def idempotency_key(headers: Any) -> str | None:
    """The request's key, None without the header; ``ValidationError`` (keyed by the header) when malformed."""
    key = headers.get(HEADER)
    if key is None:
        return None
    key = key.strip().strip('"')  # a structured-field string may come quoted
    if not _KEY.fullmatch(key):
        raise ValidationError(
            {HEADER: "Give 1 to 255 visible ASCII characters without spaces, e.g. a UUID, unique to this request."}
        )
    return str(key)


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    """SHA-256 of what makes two requests the same request: the method, the path and the JSON body (keys sorted,
    so the same body serialised with another key order or spacing is the same request)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def idempotency_key_find(*, user: Any, key: str) -> ApiIdempotencyKey | None:
    found: ApiIdempotencyKey | None = ApiIdempotencyKey.objects.filter(user=user, key=key).first()
    return found


def idempotency_key_record(*, user: Any, key: str, fingerprint: str, record: models.Model) -> ApiIdempotencyKey:
    """Store the key of a create, inside the create's transaction (a concurrent twin raises ``IntegrityError``)."""
    return ApiIdempotencyKey.objects.create(
        user=user,
        key=key,
        fingerprint=fingerprint,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
    )
