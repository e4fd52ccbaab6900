"""Submitting sources: record a video in state `new` and queue its download.

Idempotent: the same URL (or local path) is not ingested twice unless `force` is given; the same
content is caught by hash (after download for URLs; at submit time for files, see `services.intake`).
A local path is read by the process that submits it and copied into storage (`services.intake`);
workers never read local paths.
What can be refused at submit time is refused here, before anything is recorded, with the setting to
change named (a URL to a private address, a path outside the allowed roots, a file that is not a video).
"""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.uow import transaction
from heaters.adapters.download import check_url_allowed
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
    check_url_allowed(source, runtime.settings)
    with transaction(runtime.database) as uow:
        if not force:
            existing = uow.videos.find_submitted(source, url)
            if existing is not None:
                return Submitted(existing, False, source)
        video_id = uow.videos.add(source, source_url=url, allow_duplicate=force)
    runtime.queue.defer(DOWNLOAD, video_id)
    return Submitted(video_id, True, source)
