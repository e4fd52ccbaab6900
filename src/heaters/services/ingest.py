"""Submitting sources: record a video in state `new` and queue its download.

Idempotent: the same URL (or local path) is not ingested twice unless `force` is given; the same
content is caught after download, by hash (see the download stage).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from heaters.adapters.db.uow import transaction
from heaters.domain.sources import SourceKind, classify_source, normalize_url
from heaters.domain.stages import DOWNLOAD
from heaters.runtime import Runtime

UPLOAD_PREFIX = "upload:"


@dataclass(frozen=True)
class Submitted:
    video_id: int
    created: bool  # False: the same source was already ingested (its id is returned)
    source: str


def submit_source(runtime: Runtime, source: str, *, force: bool = False) -> Submitted:
    source = source.strip()
    if classify_source(source) is SourceKind.URL:
        url = normalize_url(source)
    else:
        url = None
        source = str(Path(source).expanduser().resolve())
    with transaction(runtime.database) as uow:
        if not force:
            existing = uow.videos.find_submitted(source, url)
            if existing is not None:
                return Submitted(existing, False, source)
        video_id = uow.videos.add(source, source_url=url, allow_duplicate=force)
    runtime.queue.defer(DOWNLOAD, video_id)
    return Submitted(video_id, True, source)


def uploads_dir(runtime: Runtime) -> Path:
    return runtime.settings.uploads_path


def submit_upload(runtime: Runtime, temp_file: Path, filename: str) -> Submitted:
    """A browser upload already written to `temp_file` joins the same pathway as any other source."""
    with transaction(runtime.database) as uow:
        video_id = uow.videos.add(UPLOAD_PREFIX + filename, title=Path(filename).stem)
    target = upload_path(runtime, video_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(temp_file, target)
    runtime.queue.defer(DOWNLOAD, video_id)
    return Submitted(video_id, True, UPLOAD_PREFIX + filename)


def upload_path(runtime: Runtime, video_id: int) -> Path:
    return uploads_dir(runtime) / str(video_id) / "upload"
