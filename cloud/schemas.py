"""The wire protocol of the StrumSpace cloud: every request and response body, in one
place, versioned. The desktop imports this module; it must import nothing of the
server (no FastAPI, no database), only pydantic.

Bump API_VERSION on a breaking change; additions (new optional fields, new
endpoints) keep it. HTTP paths carry it as `/v{API_VERSION}/…`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

API_VERSION = "1"
API_PREFIX = f"/v{API_VERSION}"

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256  # Argon2 takes any length; the cap bounds the work per request.


class _Model(BaseModel):
    # Unknown fields are an error: a client typo should not pass silently.
    model_config = ConfigDict(extra="forbid")


Password = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)

# A plain shape check, not RFC 5322: the only real check is the reset mail arriving,
# and it spares the desktop a dependency on email-validator.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[
    str, Field(max_length=320, pattern=EMAIL_PATTERN), AfterValidator(lambda s: s.lower())
]


# --- errors -------------------------------------------------------------------------

class ErrorDetail(_Model):
    """One problem with the request, e.g. one invalid field."""

    loc: list[str | int] = []
    message: str
    type: str | None = None


class ErrorInfo(_Model):
    code: str = Field(description="stable machine-readable code, e.g. `invalid_credentials`")
    message: str = Field(description="human-readable explanation")
    details: list[ErrorDetail] = []


class ErrorResponse(_Model):
    """The body of every error response (4xx and 5xx)."""

    error: ErrorInfo


# --- accounts -----------------------------------------------------------------------

class SignUpRequest(_Model):
    email: Email
    password: str = Password


class Account(_Model):
    id: uuid.UUID
    email: str
    created_at: datetime


class PasswordChangeRequest(_Model):
    current_password: str = Field(max_length=PASSWORD_MAX_LENGTH)
    new_password: str = Password


class PasswordResetRequest(_Model):
    email: Email


class PasswordResetConfirm(_Model):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Password


class AccountDeletionRequest(_Model):
    # Deleting everything is irreversible: ask for the password again.
    password: str = Field(max_length=PASSWORD_MAX_LENGTH)


# --- tokens -------------------------------------------------------------------------

class TokenResponse(_Model):
    """OAuth2 token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token stays valid")
    refresh_token: str


class SignOutRequest(_Model):
    refresh_token: str = Field(min_length=1, max_length=200)


class WebSocketTicket(_Model):
    """A single-use credential for opening one WebSocket (`?ticket=…`)."""

    ticket: str
    expires_in: int


class Jwk(_Model):
    kty: Literal["OKP"] = "OKP"
    crv: Literal["Ed25519"] = "Ed25519"
    x: str
    kid: str
    alg: Literal["EdDSA"] = "EdDSA"
    use: Literal["sig"] = "sig"


class Jwks(_Model):
    keys: list[Jwk]


# --- service ------------------------------------------------------------------------

class Health(_Model):
    status: Literal["ok"] = "ok"
    version: str
    api_version: str = API_VERSION


class Readiness(_Model):
    status: Literal["ready", "unavailable"]
    database: Literal["ok", "unreachable"]


# --- blobs --------------------------------------------------------------------------

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex SHA-256")]


class BlobUploadCreate(_Model):
    """Start (or resume) uploading the file with this hash and size."""

    sha256: Sha256Hex
    size: int = Field(ge=1, description="bytes in the whole file")


class BlobUpload(_Model):
    """Where an upload stands. `complete`: the account holds the blob, nothing to send
    (then `id` is null). Otherwise send bytes from `offset` with PUT and Content-Range."""

    id: uuid.UUID | None
    sha256: str
    size: int
    offset: int
    complete: bool


class BlobInfo(_Model):
    sha256: str
    size: int
    created_at: datetime


class BlobList(_Model):
    blobs: list[BlobInfo]
    used_bytes: int = Field(description="bytes of blobs and unfinished uploads, for the quota")
    quota_bytes: int


# --- projects -----------------------------------------------------------------------

ProjectName = Annotated[str, Field(min_length=1, max_length=200)]
# The owner is the project's creator; shares give other accounts one of the other two roles.
Role = Literal["owner", "editor", "viewer"]
ShareRole = Literal["editor", "viewer"]


class ProjectCreate(_Model):
    name: ProjectName


class ProjectRename(_Model):
    name: ProjectName


class Project(_Model):
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    role: Role = Field(description="the signed-in account's role on this project")
    created_at: datetime
    updated_at: datetime


class ProjectList(_Model):
    projects: list[Project]


class ShareRequest(_Model):
    email: Email
    role: ShareRole


class Member(_Model):
    user_id: uuid.UUID
    email: str
    role: Role


class MemberList(_Model):
    members: list[Member]


class VersionCreate(_Model):
    name: ProjectName


class Version(_Model):
    id: uuid.UUID
    name: str
    created_at: datetime


class VersionList(_Model):
    versions: list[Version]
