"""The personal API token format: ``edc_<prefix>_<secret>``; pure, no Django.

- ``edc_`` names the issuer, so a token pasted into a chat or a repository is recognisable to secret scanners
  (GitHub's ``ghp_`` convention).
- ``prefix``: 8 lower-case hex characters, not secret; it finds the stored row and names the token on screens.
- ``secret``: 40 characters of [A-Za-z0-9] from ``secrets`` (≈ 238 bits), so the whole token is one double-click
  word in a terminal.

Only ``token_hash(token)`` (SHA-256, hex) is stored. An unsalted fast hash is enough because the input is a
high-entropy random string, not a password (OWASP ASVS 4.0 §2.9.3; NIST SP 800-63B §5.1.1.2 applies key stretching
to memorised secrets only). Hashes are compared in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

ISSUER = "edc"
PREFIX_LENGTH = 8
SECRET_LENGTH = 40
_SECRET_ALPHABET = string.ascii_letters + string.digits
_TOKEN_PATTERN = re.compile(
    rf"{ISSUER}_(?P<prefix>[0-9a-f]{{{PREFIX_LENGTH}}})_(?P<secret>[A-Za-z0-9]{{{SECRET_LENGTH}}})"
)


@dataclass(frozen=True)
class GeneratedToken:
    """A new token: ``token`` goes to the user once; ``prefix`` and ``hash`` are what is stored."""

    token: str
    prefix: str
    hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def token_generate() -> GeneratedToken:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    token = f"{ISSUER}_{prefix}_{secret}"
    return GeneratedToken(token=token, prefix=prefix, hash=token_hash(token))


def token_prefix(token: str) -> str | None:
    """The prefix of a well-formed token, else ``None`` (nothing is looked up for a malformed one)."""
    match = _TOKEN_PATTERN.fullmatch(token)
    return match.group("prefix") if match else None


def token_matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` hashes to ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)
