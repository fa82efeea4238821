"""Opaque tokens (refresh tokens, reset tokens, tickets): random, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    # 256 random bits need no salt or slow hash: SHA-256 is enough to make a leak useless.
    return hashlib.sha256(token.encode()).digest()
