"""The review page, its JSON API (claim, open, act, undo) and the media it plays (clip videos, strips)."""

from __future__ import annotations

from secrets import token_hex

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel

from heaters.domain.review import ActionKind
from heaters.services import media, review
from heaters.services.users import Reviewer
from heaters.web.media import CachedMedia, media_response
from heaters.web.presenters import answer_json, cut_review_json, history_json, page_state_json
from heaters.web.security import api_user, page_user, require_csrf_header
from heaters.web.templating import render

router = APIRouter()
STRIP_MAX_AGE = 24 * 3600


class ActionRequest(BaseModel):
    action: ActionKind
    frame: int | None = None
    to_frame: int | None = None
    delta: int | None = None  # move_cut: the cut nearest to `frame` moves by this many frames


class UndoRequest(BaseModel):
    event_id: int | None = None  # a specific entry of the history (default: the most recent undoable)


# --- pages (`?video=ID`: that video's queue only)


@router.get("/review")
def review_next_page(request: Request, video: int | None = None, user: Reviewer = Depends(page_user)):
    state = review.next_page(request.app.state.runtime, user.id, video)
    return render(request, "review.html", state=page_state_json(request, state))


@router.get("/review/{clip_id}")
def review_clip_page(clip_id: int, request: Request, video: int | None = None, user: Reviewer = Depends(page_user)):
    state = review.open_page(request.app.state.runtime, user.id, clip_id, video)
    if state.clip is not None and state.clip.id != clip_id:  # superseded: its replacement's own URL
        query = f"?video={video}" if video is not None else ""
        return RedirectResponse(request.app.url_path_for("review_clip_page", clip_id=state.clip.id) + query, 303)
    return render(request, "review.html", state=page_state_json(request, state))


# --- JSON API


@router.get("/api/review/next")
def api_next(request: Request, video: int | None = None, user: Reviewer = Depends(api_user)) -> dict:
    return page_state_json(request, review.next_page(request.app.state.runtime, user.id, video))


@router.get("/api/review/clips/{clip_id}")
def api_open(clip_id: int, request: Request, video: int | None = None, user: Reviewer = Depends(api_user)) -> dict:
    return page_state_json(request, review.open_page(request.app.state.runtime, user.id, clip_id, video))


@router.post("/api/clips/{clip_id}/actions", dependencies=[Depends(require_csrf_header)])
def api_act(
    clip_id: int, body: ActionRequest, request: Request, video: int | None = None, user: Reviewer = Depends(api_user)
) -> JSONResponse:
    runtime = request.app.state.runtime
    # The answer is plain JSON data already: returned as a JSONResponse it skips FastAPI's response
    # validation, which costs more than the rest on each key.
    answer = review.act_and_show(
        runtime,
        user.id,
        clip_id,
        body.action,
        frame=body.frame,
        to_frame=body.to_frame,
        delta=body.delta,
        queue_video=video,
    )
    return JSONResponse(answer_json(request, answer))


@router.post("/api/undo", dependencies=[Depends(require_csrf_header)])
def api_undo(
    request: Request, body: UndoRequest | None = None, video: int | None = None, user: Reviewer = Depends(api_user)
) -> JSONResponse:
    event_id = body.event_id if body is not None else None
    answer = review.undo_and_show(request.app.state.runtime, user.id, event_id, video)
    return JSONResponse(answer_json(request, answer))


@router.get("/api/review/history")
def api_history(request: Request, user: Reviewer = Depends(api_user)) -> dict:
    return history_json(review.history(request.app.state.runtime, user.id))


@router.get("/api/review/videos/{video_id}/cuts")
def api_cut_review(video_id: int, request: Request, user: Reviewer = Depends(api_user)) -> dict:
    return cut_review_json(request, video_id, review.cut_review(request.app.state.runtime, video_id))


@router.get("/api/review/videos/{video_id}/live")
async def api_live_timeline(video_id: int, request: Request, user: Reviewer = Depends(api_user)):
    """Server-sent events: the video's timeline each time its clips change."""
    stream = request.app.state.live.stream(video_id)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


# --- media


@router.get("/clips/{clip_id}/video.mp4")
def clip_video(clip_id: int, request: Request, user: Reviewer = Depends(api_user)):
    runtime = request.app.state.runtime
    source = media.clip_media(runtime, clip_id)

    def cut() -> CachedMedia:
        # Cut into a file of the process's cache directory: ranges are then read from disk, never the whole clip.
        name = f"c{clip_id}-{source.start_frame}-{source.end_frame}-{token_hex(4)}.mp4"
        path = media.write_clip_file(runtime, source, request.app.state.clip_cache_dir / name)
        return CachedMedia.from_file(path, f'"c{clip_id}-{source.version}"', "video/mp4")

    key = ("clip", clip_id, source.version)  # the version also tells a cut from proxy segments from one of the proxy
    return media_response(request, request.app.state.clip_cache.get_or_make(key, cut))


@router.get("/videos/{video_id}/strip.jpg")
def video_strip(video_id: int, request: Request, tiles: int = 16, user: Reviewer = Depends(api_user)):
    runtime = request.app.state.runtime
    source = media.strip_media(runtime, video_id)
    frames = media.strip_frames(source, max(1, min(tiles, 60)))

    def make() -> CachedMedia:
        data = media.strip_bytes(runtime, source, frames)
        return CachedMedia(data, f'"s{video_id}-{len(frames)}"', "image/jpeg")

    cached = request.app.state.strip_cache.get_or_make(("strip", video_id, source.proxy_key, len(frames)), make)
    return media_response(request, cached, max_age=STRIP_MAX_AGE)


@router.get("/videos/{video_id}/frame.jpg")
def video_frame(video_id: int, request: Request, frame: int = 0, user: Reviewer = Depends(api_user)):
    """One frame of the video's proxy (a cut being dragged, the two sides of a cut in cut review)."""
    runtime = request.app.state.runtime
    source = media.strip_media(runtime, video_id)
    frame = max(0, min(source.frame_count - 1, frame))

    def make() -> CachedMedia:
        return CachedMedia(media.strip_bytes(runtime, source, [frame]), f'"f{video_id}-{frame}"', "image/jpeg")

    cached = request.app.state.strip_cache.get_or_make(("frame", video_id, source.proxy_key, frame), make)
    return media_response(request, cached, max_age=STRIP_MAX_AGE)
