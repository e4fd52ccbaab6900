"""The library page, its JSON API (list, similar, text search) and the files it shows (exported clips,
keyframes). Every route needs a signed-in reviewer; nothing here changes state, so no CSRF."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from heaters.services import library, media
from heaters.services.users import Reviewer
from heaters.web.media import CachedMedia, content_disposition, media_response
from heaters.web.presenters import hit_json, library_page_json
from heaters.web.security import api_user, page_user
from heaters.web.templating import render

router = APIRouter()
PAGE_SIZE = 48
EXPORT_MAX_AGE = 24 * 3600  # an export's key carries its frame range and its ETag is its SHA-256


def _filters(video: str | None, state: str | None) -> tuple[int | None, str | None]:
    # Query strings from the page's <select>s send "" for "all".
    return (int(video) if video and video.isdigit() else None), (state or None)


@router.get("/library")
def library_page(
    request: Request, video: str | None = None, state: str | None = None, user: Reviewer = Depends(page_user)
):
    runtime = request.app.state.runtime
    video_id, state = _filters(video, state)
    page = library.list_clips(runtime, video_id=video_id, state=state, limit=PAGE_SIZE)
    initial = {
        "page": library_page_json(request, page),
        "videos": library.library_videos(runtime),
        "counts": library.state_counts(runtime, video_id),
        "states": list(library.LIBRARY_STATES),
        "filters": {"video": video_id, "state": state},
        "page_size": PAGE_SIZE,
    }
    return render(request, "library.html", initial=initial)


@router.get("/api/library")
def api_library(
    request: Request,
    video: str | None = None,
    state: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    user: Reviewer = Depends(api_user),
) -> dict:
    runtime = request.app.state.runtime
    video_id, state = _filters(video, state)
    page = library.list_clips(runtime, video_id=video_id, state=state, offset=offset, limit=limit)
    return library_page_json(request, page) | {"counts": library.state_counts(runtime, video_id)}


@router.get("/api/clips/{clip_id}/similar")
def api_similar(
    clip_id: int, request: Request, k: int = Query(12, ge=1, le=100), user: Reviewer = Depends(api_user)
) -> dict:
    hits = library.similar(request.app.state.runtime, clip_id, k=k)
    return {"clip_id": clip_id, "hits": [hit_json(request, h) for h in hits]}


@router.get("/api/search")
def api_search(
    request: Request, text: str = "", k: int = Query(12, ge=1, le=100), user: Reviewer = Depends(api_user)
) -> dict:
    hits = library.text_search(request.app.state.runtime, text, k=k)
    return {"text": text, "hits": [hit_json(request, h) for h in hits]}


@router.get("/api/review/clips/{clip_id}/similar")
def api_review_similar(
    clip_id: int, request: Request, k: int = Query(6, ge=1, le=24), user: Reviewer = Depends(api_user)
) -> dict:
    anchor, hits = library.similar_for_review(request.app.state.runtime, clip_id, k=k)
    return {"anchor": anchor.as_json() if anchor else None, "hits": [hit_json(request, h) for h in hits]}


# --- files


@router.get("/keyframes/{artifact_id}")
def keyframe(artifact_id: int, request: Request, user: Reviewer = Depends(api_user)):
    runtime = request.app.state.runtime
    stored = library.keyframe_file(runtime, artifact_id)
    # Small images: read whole and answered by the same ETag/Range code as the review page's media.
    image = CachedMedia(media.read_bytes(runtime, stored.key), stored.etag, stored.content_type)
    return media_response(request, image, max_age=EXPORT_MAX_AGE)


@router.get("/clips/{clip_id}/export.mp4")
def exported_clip(clip_id: int, request: Request, download: bool = False, user: Reviewer = Depends(api_user)):
    """The exported file, with Range (206/416) and ETag. Local storage: served from disk by Starlette's
    FileResponse (which implements ranges). S3: playback is redirected to a short-lived presigned URL (the
    browser then ranges against S3 directly); a download is streamed through so it keeps its file name."""
    runtime = request.app.state.runtime
    stored = library.export_file(runtime, clip_id)
    headers = {"ETag": stored.etag, "Cache-Control": f"private, max-age={EXPORT_MAX_AGE}"}
    if stored.etag in [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    disposition = "attachment" if download else "inline"
    path = media.local_path(runtime, stored.key)
    if path is not None:
        return FileResponse(
            path,
            media_type=stored.content_type,
            headers=headers,
            filename=stored.filename,
            content_disposition_type=disposition,
        )
    if not download:
        return RedirectResponse(media.presigned_url(runtime, stored.key), status_code=307)

    headers["Content-Disposition"] = content_disposition("attachment", stored.filename)
    if stored.size is not None:
        headers["Content-Length"] = str(stored.size)
    return StreamingResponse(media.stream(runtime, stored.key), media_type=stored.content_type, headers=headers)
