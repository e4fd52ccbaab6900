"""Object storage behind one small interface (`Storage`): local filesystem (default) or S3.

Keys come from `heaters.domain.storage_keys`; build the configured backend with
`storage_from_settings(settings)`.
"""

from heaters.adapters.storage.base import Storage
from heaters.adapters.storage.factory import storage_from_settings
from heaters.adapters.storage.local import LocalStorage
from heaters.adapters.storage.s3 import S3Storage

__all__ = ["LocalStorage", "S3Storage", "Storage", "storage_from_settings"]
