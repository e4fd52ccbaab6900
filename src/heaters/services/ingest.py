"""Submitting sources: record a video in state `new` and queue its download.

Idempotent: the same URL (or local path) is not ingested twice unless `force` is given; the same
content is caught after download, by hash (see the download stage).
What can be refused at submit time is refused here, before anything is recorded, with the setting to
change named (a URL to a private address, a path outside the allowed roots, a file that is not a video);
the download stage checks the same again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select

from heaters.adapters.db.models import SourceVideo
from heaters.adapters.download import check_path_allowed, check_url_allowed
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
        check_url_allowed(source, runtime.settings)
    else:
        url = None
        check_path_allowed(source, runtime.settings)
        source = str(Path(source).expanduser().resolve())
    with runtime.database.sessions.begin() as session:
        if not force:
            same_source = SourceVideo.source == source
            if url:
                same_source = or_(same_source, SourceVideo.source_url == url)
            existing = session.scalars(select(SourceVideo).where(same_source).order_by(SourceVideo.id).limit(1)).first()
            if existing is not None:
                return Submitted(existing.id, False, source)
        video = SourceVideo(source=source, source_url=url, state="new", attempts=0, allow_duplicate=force)
        session.add(video)
        session.flush()
        video_id = video.id
    runtime.queue.defer(DOWNLOAD, video_id)
    return Submitted(video_id, True, source)


def uploads_dir(runtime: Runtime) -> Path:
    path = runtime.settings.data_path / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def submit_upload(runtime: Runtime, temp_file: Path, filename: str) -> Submitted:
    """A browser upload already written to `temp_file` joins the same pathway as any other source."""
    with runtime.database.sessions.begin() as session:
        video = SourceVideo(source=UPLOAD_PREFIX + filename, state="new", attempts=0, title=Path(filename).stem)
        session.add(video)
        session.flush()
        video_id = video.id
    target = upload_path(runtime, video_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(temp_file, target)
    runtime.queue.defer(DOWNLOAD, video_id)
    return Submitted(video_id, True, UPLOAD_PREFIX + filename)


def upload_path(runtime: Runtime, video_id: int) -> Path:
    return uploads_dir(runtime) / str(video_id) / "upload"
