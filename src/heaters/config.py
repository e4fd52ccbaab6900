"""The one settings object: environment variables prefixed `HEATERS_`, and an optional TOML file.

Precedence: explicit arguments > environment > the file named by `HEATERS_CONFIG_FILE` > defaults.
Everything stateful lives under `data_dir`, so two data directories never interfere.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEATERS_", env_nested_delimiter="__", extra="ignore")

    # --- where things live
    data_dir: Path = Field(default=Path("./data"), description="Everything stateful lives under it.")
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL (15+, with pgvector) URL. Empty: an embedded PostgreSQL in data_dir/postgres.",
    )
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(default=None, description="For S3-compatible stores (MinIO, moto…).")
    s3_region: str = "us-east-1"
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket.")
    master_storage_class: str = Field(default="GLACIER", description="S3 storage class of lossless masters.")
    presigned_url_seconds: int = 3600

    # --- ingest limits and safety
    allowed_roots: list[Path] = Field(
        default_factory=list, description="Local paths that may be ingested (empty: none besides uploads)."
    )
    allow_private_urls: list[str] = Field(
        default_factory=list,
        description="Hosts/networks (e.g. 127.0.0.1) that URLs may resolve to although private or loopback.",
    )
    max_upload_bytes: int = 20 * 1024**3
    max_width: int = 7680
    max_height: int = 4320
    max_duration_seconds: float = 6 * 3600

    # --- processing
    proxy_crf: int = 20
    min_clip_seconds: float = Field(
        default=0.0, description="Shortest clip a reviewer's cut may leave (0: any clip of one frame or more)."
    )
    export_profile: Literal["stream_copy", "master_reencode"] = "stream_copy"
    keyframe_strategy: str = Field(default="percent:25,50,75", description="percent:P1,P2,… of each clip.")
    embedding_model: str = Field(
        default="efficientnet-lite0",
        description="Built-in model name, or 'clip:/path/to/local/model' for a CLIP-style model.",
    )

    # --- jobs
    max_attempts: int = 3
    retry_backoff_seconds: int = 10
    worker_concurrency: int = 1
    worker_heartbeat_seconds: float = 5.0
    worker_stalled_seconds: float = Field(
        default=30.0, description="A worker silent this long is dead; its jobs are re-queued by recovery."
    )
    recovery_interval_seconds: int = Field(default=10, ge=1, le=59)

    # --- review
    claim_lease_seconds: int = 300
    export_grace_seconds: float = Field(
        default=15.0, description="Approved clips wait this long before export, so an immediate undo still works."
    )
    secret_key: str | None = Field(default=None, description="Signs sessions; generated into data_dir if unset.")
    admin_user: str = "admin"
    admin_password: str | None = Field(default=None, description="First reviewer's password; printed if unset.")

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
        config_file = os.environ.get("HEATERS_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @cached_property
    def data_path(self) -> Path:
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def storage_root(self) -> Path:
        return self.data_path / "storage"

    @property
    def postgres_dir(self) -> Path:
        return self.data_path / "postgres"


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)
