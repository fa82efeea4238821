"""Service settings: environment variables, then an optional TOML file, then defaults.

Every setting reads `STRUMSPACE_CLOUD_<NAME>`; `DATABASE_URL` is also read as is, the
name operators expect. `STRUMSPACE_CLOUD_CONFIG` (or `serve --config`) names the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_data_dir() -> Path:
    override = os.environ.get("STRUMSPACE_CLOUD_DATA")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("StrumSpace")) / "cloud"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STRUMSPACE_CLOUD_", extra="forbid", populate_by_name=True
    )

    # None: start the embedded PostgreSQL in data_dir/pg.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "STRUMSPACE_CLOUD_DATABASE_URL")
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        validation_alias=AliasChoices("STRUMSPACE_CLOUD_DATA", "STRUMSPACE_CLOUD_DATA_DIR"),
    )
    host: str = "127.0.0.1"
    port: int = 8787
    log_level: str = "INFO"
    db_pool_size: int = 10

    access_token_ttl_s: int = Field(default=900, ge=10)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    ws_ticket_ttl_s: int = Field(default=30, ge=1)
    password_reset_ttl_s: int = Field(default=3600, ge=60)
    # A project's Yjs update log is merged into its snapshot once it holds this many updates.
    compact_after_updates: int = Field(default=200, ge=1)
    # The JWT issuer; replicas of one deployment share it.
    jwt_issuer: str = "strumspace-cloud"
    # Where this replica keeps its private signing keys (default: data_dir/keys).
    keys_dir: Path | None = None
    # Argon2 cost; lowering it is for tests only (the default follows pwdlib's recommendation).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65536, ge=1024)

    # --- blobs and limits (docs/cloud-api.md, "Blobs" and "Limits") ---
    # S3-compatible storage for blobs; None keeps them in data_dir/blobs.
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = "blobs/"
    max_blob_bytes: int = Field(default=2 * 1024**3, ge=1)
    max_upload_chunk_bytes: int = Field(default=8 * 1024**2, ge=1)
    # Every other request body (JSON, forms): they are small, so a large one is abuse.
    max_body_bytes: int = Field(default=1024**2, ge=1024)
    storage_quota_bytes: int = Field(default=10 * 1024**3, ge=0)
    # Shares the HTTP rate limits between replicas; None keeps them in this process.
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "STRUMSPACE_CLOUD_REDIS_URL")
    )
    rate_limits_enabled: bool = True
    # Requests per minute and client address: sign-in, sign-up and password reset...
    rate_limit_auth_per_min: int = Field(default=20, ge=1)
    # ...and every other HTTP route.
    rate_limit_default_per_min: int = Field(default=1200, ge=1)
    # A handler that has not started its answer by then gets 504; a client that stalls
    # for this long while sending its body gets 408.
    request_timeout_s: float = Field(default=60.0, gt=0)
    body_read_timeout_s: float = Field(default=15.0, gt=0)
    ws_max_message_bytes: int = Field(default=1024**2, ge=1)
    ws_messages_per_s: float = Field(default=100.0, gt=0)
    ws_message_burst: int = Field(default=200, ge=1)
    # Browser origins that may open WebSockets: "scheme://host[:port]", "scheme://host:*"
    # for any port, or "*". A connection without Origin (a native client) is always
    # allowed: Origin only stops other web pages from riding a user's browser.
    ws_allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:*", "http://127.0.0.1:*"]
    )

    # --- chord analysis (docs/cloud-api.md, "Chord analysis") ---
    # An uploaded audio file may have this many bytes and last this many seconds.
    analysis_max_bytes: int = Field(default=128 * 1024**2, ge=1024)
    analysis_max_duration_s: float = Field(default=900.0, gt=0)
    # Analyses running at once (threads, about one core each) and waiting for one;
    # beyond that a request gets 503 with Retry-After instead of queueing.
    analysis_workers: int = Field(default=1, ge=1)
    analysis_queue: int = Field(default=2, ge=0)
    # The offline chord model (None: models/chords/artifacts/chords.onnx, the desktop's).
    analysis_model: Path | None = None

    # --- the maintenance worker (docs/cloud-api.md, "Operations") ---
    # Seconds between two rounds of every job.
    worker_interval_s: float = Field(default=300.0, gt=0)
    # An upload that received no bytes for this long is aborted and its bytes deleted.
    upload_idle_timeout_s: int = Field(default=24 * 3600, ge=60)
    # Stored bytes no account references are deleted only once they are this old.
    orphan_grace_s: int = Field(default=3600, ge=0)

    # Set on a subclass by load_settings(config_file=...), so that nothing global changes.
    _config_file: ClassVar[Path | None] = None

    @property
    def signing_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = getattr(settings_cls, "_config_file", None) or os.environ.get(
            "STRUMSPACE_CLOUD_CONFIG"
        )
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and `config_file` (or $STRUMSPACE_CLOUD_CONFIG)."""
    if config_file is None:
        return Settings(**overrides)
    if not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")
    from_file = type("Settings", (Settings,), {"_config_file": config_file})
    return Settings.model_validate(from_file(**overrides).model_dump())
