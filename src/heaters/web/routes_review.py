"""The review page, its JSON API (claim, open, act, undo) and the media it plays (clip videos, strips)."""

from __future__ import annotations

from secrets import token_hex

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from heaters.adapters.media.clip import write_clip
from heaters.adapters.media.thumbnails import strip_frames, timeline_strip
from heaters.domain.errors import NotFound
from heaters.domain.review import ActionKind
from heaters.services import review_page
from heaters.services.users import Reviewer
from heaters.web.media import CachedMedia, media_response
from heaters.web.security import api_user, page_user, require_csrf_header
from heaters.web.templating import render

router = APIRouter()


class ActionRequest(BaseModel):
    action: ActionKind
    frame: int | None = None
    to_frame: int | None = None


# --- pages


@router.get("/review")
def review_next_page(request: Request, user: Reviewer = Depends(page_user)):
    runtime = request.app.state.runtime
    return render(request, "review.html", state=review_page.next_page_state(runtime, user.id))


@router.get("/review/{clip_id}")
def review_clip_page(clip_id: int, request: Request, user: Reviewer = Depends(page_user)):
    runtime = request.app.state.runtime
    return render(request, "review.html", state=review_page.open_page_state(runtime, user.id, clip_id))


# --- JSON API


@router.get("/api/review/next")
def api_next(request: Request, user: Reviewer = Depends(api_user)) -> dict:
    runtime = request.app.state.runtime
    return review_page.next_page_state(runtime, user.id)


@router.get("/api/review/clips/{clip_id}")
def api_open(clip_id: int, request: Request, user: Reviewer = Depends(api_user)) -> dict:
    runtime = request.app.state.runtime
    return review_page.open_page_state(runtime, user.id, clip_id)


@router.post("/api/clips/{clip_id}/actions", dependencies=[Depends(require_csrf_header)])
def api_act(clip_id: int, body: ActionRequest, request: Request, user: Reviewer = Depends(api_user)) -> JSONResponse:
    runtime = request.app.state.runtime
    # The action and the next clip's page in one transaction. The answer is plain JSON data already: returned
    # as a JSONResponse it skips FastAPI's response validation, which costs more than the rest on each key.
    answer = review_page.act_and_show(runtime, user.id, clip_id, body.action, frame=body.frame, to_frame=body.to_frame)
    return JSONResponse(answer)


@router.post("/api/undo", dependencies=[Depends(require_csrf_header)])
def api_undo(request: Request, user: Reviewer = Depends(api_user)) -> JSONResponse:
    runtime = request.app.state.runtime
    return JSONResponse(review_page.undo_and_show(runtime, user.id))


# --- media


@router.get("/clips/{clip_id}/video.mp4")
def clip_video(clip_id: int, request: Request, user: Reviewer = Depends(api_user)):
    runtime = request.app.state.runtime
    source = review_page.media_source(runtime, clip_id)
    if not source.proxy_key:
        raise NotFound(f"clip {clip_id}'s video has no proxy yet")

    def cut() -> CachedMedia:
        # Cut into a file of the process's cache directory: ranges are then read from disk, never the whole clip.
        name = f"c{clip_id}-{source.start_frame}-{source.end_frame}-{token_hex(4)}.mp4"
        path = request.app.state.clip_cache_dir / name
        write_clip(runtime.storage.media_input(source.proxy_key), source.start_frame, source.end_frame, path)
        return CachedMedia.from_file(path, f'"c{clip_id}-{source.version}"', "video/mp4")

    key = ("clip", clip_id, source.start_frame, source.end_frame)
    return media_response(request, request.app.state.clip_cache.get_or_make(key, cut))


@router.get("/videos/{video_id}/strip.jpg")
def video_strip(video_id: int, request: Request, tiles: int = 16, user: Reviewer = Depends(api_user)):
    runtime = request.app.state.runtime
    video = review_page.video_media(runtime, video_id)
    if not video.proxy_key or not video.frame_count:
        raise NotFound(f"video {video_id} has no proxy yet")
    tiles = max(1, min(tiles, 60))

    def make() -> CachedMedia:
        frames = strip_frames(video.frame_count, tiles)
        data = timeline_strip(runtime.storage.media_input(video.proxy_key), frames)
        return CachedMedia(data, f'"s{video_id}-{tiles}-{len(frames)}"', "image/jpeg")

    media = request.app.state.strip_cache.get_or_make(("strip", video_id, video.proxy_key, tiles), make)
    return media_response(request, media, max_age=24 * 3600)
