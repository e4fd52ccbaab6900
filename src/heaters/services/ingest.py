"""Submitting sources: record a video in state `new` and queue its download.

Idempotent: the same URL (or local path) is not ingested twice unless `force` is given; the same
content is caught by hash (after download for URLs; at submit time for files, see `services.intake`).
A local path is read by the process that submits it and copied into storage (`services.intake`);
workers never read local paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from heaters.adapters.db.models import SourceVideo
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
    if classify_source(source) is not SourceKind.URL:
        from heaters.services.intake import submit_local_file

        return submit_local_file(runtime, source, force=force)
    url = normalize_url(source)
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
