"""Opaque tokens: generation, hashing and constant-time verification.

A token reads ``<prefix>_<id>_<secret>``: the id finds the stored record, and
only the SHA-256 of the secret is stored. The secret carries 256 random bits,
so a fast hash is enough (there is nothing to brute-force), and it is compared
with ``hmac.compare_digest`` so timing does not leak how much of it matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from kubegateway.ids import TokenId

DATA_PREFIX = "kgt"
ADMIN_PREFIX = "kga"
_ID_BYTES = 8
_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class NewToken:
    id: TokenId
    token: str
    secret_hash: str


@dataclass(frozen=True, slots=True)
class TokenParts:
    prefix: str
    id: TokenId
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate(prefix: str) -> NewToken:
    token_id = TokenId(secrets.token_hex(_ID_BYTES))
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewToken(token_id, f"{prefix}_{token_id}_{secret}", hash_secret(secret))


def split(token: str) -> TokenParts | None:
    """Split a token into its parts, or return None when it is malformed."""
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if not prefix or len(token_id) != 2 * _ID_BYTES or not secret:
        return None
    return TokenParts(prefix, TokenId(token_id), secret)


def verify(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret).encode(), secret_hash.encode())
