"""Argon2id password hashes (pwdlib)."""

from __future__ import annotations

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


class Passwords:
    def __init__(self, time_cost: int, memory_cost_kib: int) -> None:
        self._hash = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost_kib),))
        # Verifying against this when the account does not exist keeps sign-in timing
        # the same for known and unknown addresses.
        self._dummy = self._hash.hash("no such account")

    # Hashing takes tens of milliseconds of CPU: keep it off the event loop.
    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        return await asyncio.to_thread(self._hash.verify, password, hashed or self._dummy)
