"""Ed25519 keys that sign access tokens (JWT, EdDSA, `kid` in the header).

Each replica keeps its private keys in its own folder and publishes the public halves
in the `signing_keys` table; any replica (and anyone reading /.well-known/jwks.json)
verifies any replica's tokens, and no secret is shared. Rotation: a new key signs
from then on; older public keys keep verifying until they are retired.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import SigningKey
from cloud.schemas import Jwk

ALGORITHM = "EdDSA"
# Other replicas' keys are cached this long, so a retirement reaches every replica within it.
KEY_CACHE_S = 60.0


class InvalidToken(Exception):
    """The token is malformed, expired, signed by an unknown or retired key, or forged."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class AccessClaims:
    user_id: uuid.UUID
    issued_at: datetime
    kid: str


class KeyRing:
    def __init__(self, keys_dir: Path, issuer: str) -> None:
        self.keys_dir = keys_dir
        self.issuer = issuer
        self._signer: tuple[str, Ed25519PrivateKey] | None = None
        self._public: dict[str, tuple[Ed25519PublicKey, float]] = {}

    # --- local private keys -------------------------------------------------------

    def _local_keys(self) -> list[tuple[str, Ed25519PrivateKey]]:
        keys = []
        for path in sorted(self.keys_dir.glob("*.pem")):
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(key, Ed25519PrivateKey):
                keys.append((path.stem, key))
        return keys

    def _generate(self) -> tuple[str, Ed25519PrivateKey]:
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        # Sortable by creation time: the newest file is the signer.
        kid = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self.keys_dir / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return kid, key

    async def _publish(self, session: AsyncSession, kid: str, key: Ed25519PrivateKey) -> None:
        await session.execute(
            insert(SigningKey)
            .values(kid=kid, public_key=_raw_public(key.public_key()))
            .on_conflict_do_nothing(index_elements=["kid"])
        )

    async def load(self, session: AsyncSession) -> str:
        """Publish this replica's keys and pick the newest unretired one to sign; make one
        if there is none. Returns the signing kid."""
        retired = set(
            (await session.scalars(
                select(SigningKey.kid).where(SigningKey.retired_at.is_not(None))
            )).all()
        )
        local = [(kid, key) for kid, key in self._local_keys() if kid not in retired]
        if not local:
            local = [self._generate()]
        for kid, key in local:
            await self._publish(session, kid, key)
        await session.commit()
        self._signer = local[-1]
        return self._signer[0]

    async def rotate(self, session: AsyncSession) -> str:
        """A new key signs from now on; the old ones keep verifying."""
        kid, key = self._generate()
        await self._publish(session, kid, key)
        await session.commit()
        self._signer = (kid, key)
        return kid

    async def retire(self, session: AsyncSession, kid: str) -> None:
        """Tokens signed by `kid` stop verifying (everywhere within KEY_CACHE_S)."""
        if self._signer is not None and self._signer[0] == kid:
            raise ValueError("rotate before retiring the key that signs")
        await session.execute(
            update(SigningKey).where(SigningKey.kid == kid).values(retired_at=datetime.now(UTC))
        )
        await session.commit()
        self._public.pop(kid, None)
        (self.keys_dir / f"{kid}.pem").unlink(missing_ok=True)

    # --- tokens ---------------------------------------------------------------------

    @property
    def signing_kid(self) -> str:
        if self._signer is None:
            raise RuntimeError("KeyRing.load() has not run")
        return self._signer[0]

    def sign_access_token(self, user_id: uuid.UUID, ttl_s: int, now: float | None = None) -> str:
        if self._signer is None:
            raise RuntimeError("KeyRing.load() has not run")
        kid, key = self._signer
        iat = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(user_id),
            "iat": iat,
            "exp": iat + ttl_s,
            "jti": secrets.token_hex(8),
            "typ": "access",
        }
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})

    async def _public_key(self, session: AsyncSession, kid: str) -> Ed25519PublicKey:
        cached = self._public.get(kid)
        if cached is not None and time.monotonic() - cached[1] < KEY_CACHE_S:
            return cached[0]
        raw = await session.scalar(
            select(SigningKey.public_key).where(
                SigningKey.kid == kid, SigningKey.retired_at.is_(None)
            )
        )
        if raw is None:
            self._public.pop(kid, None)
            raise InvalidToken("unknown or retired signing key")
        key = Ed25519PublicKey.from_public_bytes(raw)
        self._public[kid] = (key, time.monotonic())
        return key

    async def verify_access_token(self, session: AsyncSession, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise InvalidToken("unexpected token header")
        key = await self._public_key(session, kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss"]},
                leeway=5,
            )
            if claims.get("typ") != "access":
                raise InvalidToken("not an access token")
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                kid=kid,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken("invalid token") from exc

    async def jwks(self, session: AsyncSession) -> list[Jwk]:
        rows = await session.execute(
            select(SigningKey.kid, SigningKey.public_key)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.kid)
        )
        return [Jwk(kid=kid, x=_b64url(raw)) for kid, raw in rows]
