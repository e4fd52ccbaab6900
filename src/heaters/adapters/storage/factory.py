"""Builds the configured storage backend from the one Settings object."""

from __future__ import annotations

from typing import TYPE_CHECKING

from heaters.adapters.storage.base import Storage
from heaters.adapters.storage.local import LocalStorage
from heaters.adapters.storage.s3 import S3Storage
from heaters.domain.errors import BadInput
from heaters.domain.storage_keys import MASTERS

if TYPE_CHECKING:
    from heaters.config import Settings


def storage_from_settings(settings: Settings) -> Storage:
    """`local` (default): files under `settings.storage_root` (data_dir/storage).
    `s3`: `s3_bucket` at `s3_endpoint_url` (AWS when unset), keys under `s3_prefix`, masters stored with
    `master_storage_class` unless a caller names another class."""
    if settings.storage_backend == "local":
        return LocalStorage(settings.storage_root)
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise BadInput("storage_backend is 's3' but no bucket is set (HEATERS_S3_BUCKET)")
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
            default_url_seconds=settings.presigned_url_seconds,
            # Masters are kept for compliance and never read by the pipeline: archival class.
            storage_class_by_prefix={MASTERS: settings.master_storage_class},
            public_endpoint_url=settings.s3_public_endpoint_url or None,
        )
    raise BadInput(f"unknown storage backend {settings.storage_backend!r} (expected 'local' or 's3')")
