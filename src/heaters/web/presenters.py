"""Service values as the JSON the pages read, with the URLs of their media built here, from the routes'
names (services build no URLs)."""

from __future__ import annotations

from fastapi import Request

from heaters.domain.cut_review import CutItem
from heaters.domain.framegrid import fps_or_default
from heaters.domain.states import ClipState
from heaters.services.library import ClipCard, LibraryPage
from heaters.services.review import Answer, HistoryEntry, PageState
from heaters.services.search import Hit


def _path(request: Request, name: str, **params) -> str:
    """`url_path_for`, filled in from a template made once per app, route and parameter names: each real call walks
    every route, and an action's answer needs half a dozen URLs."""
    templates = request.app.__dict__.setdefault("_heaters_path_templates", {})
    key = (name, *params)
    template = templates.get(key)
    if template is None:
        template = templates[key] = request.app.url_path_for(name, **{p: f"\x00{p}\x00" for p in params})
    for param, value in params.items():
        template = template.replace(f"\x00{param}\x00", str(value))
    return template


def clip_video_url(request: Request, clip_id: int, start_frame: int, end_frame: int) -> str:
    # The range in the URL makes the URL change whenever the clip's frames would, so caching is safe.
    return f"{_path(request, 'clip_video', clip_id=clip_id)}?v={start_frame}-{end_frame}"


def card_json(request: Request, card: ClipCard) -> dict:
    frames = card.end_frame - card.start_frame
    fps = fps_or_default(card.fps)
    export_url = _path(request, "exported_clip", clip_id=card.clip_id)
    keyframe_urls = [_path(request, "keyframe", artifact_id=k) for k in card.keyframe_ids]
    # The middle keyframe is the most representative of the clip, and never a fade in or out.
    thumbnail = keyframe_urls[len(keyframe_urls) // 2] if keyframe_urls else None
    return {
        "clip_id": card.clip_id,
        "video_id": card.video_id,
        "video_title": card.video_title,
        "start_frame": card.start_frame,
        "end_frame": card.end_frame,
        "frames": frames,
        "fps": fps,
        "start_seconds": card.start_frame / fps,
        "end_seconds": card.end_frame / fps,
        "duration_seconds": frames / fps,
        "state": card.state,
        "export_size": card.export_size,
        "export_url": export_url,
        "download_url": export_url + "?download=1",
        "thumbnail_url": thumbnail,
        "keyframe_urls": keyframe_urls,
        "searchable": card.state == ClipState.EMBEDDED,
    }


def hit_json(request: Request, hit: Hit) -> dict:
    return card_json(request, hit.card) | hit.as_json()


def library_page_json(request: Request, page: LibraryPage) -> dict:
    return {
        "clips": [card_json(request, c) for c in page.cards],
        "total": page.total,
        "offset": page.offset,
        "next_offset": page.next_offset,
    }


def page_state_json(request: Request, state: PageState) -> dict:
    upcoming = [
        {"id": clip_id, "video_url": clip_video_url(request, clip_id, start, end)}
        for clip_id, start, end in state.upcoming
    ]
    view, page = state.clip, state.page
    if view is None or page is None:
        return {"clip": None, "timeline": [], "upcoming": upcoming, "queue_video": state.queue_video}
    clip = view.as_json() | {"video_url": clip_video_url(request, view.id, view.start_frame, view.end_frame)}
    return {
        "clip": clip,
        "video": {
            "id": page.video_id,
            "title": view.video_title,
            "frames": view.video_frames,
            "fps": view.fps,
            "width": page.width,
            "height": page.height,
            "strip_url": _path(request, "video_strip", video_id=page.video_id),
            "live_url": _path(request, "api_live_timeline", video_id=page.video_id),
        },
        "timeline": [
            {"id": clip_id, "start": start, "end": end, "state": state, "group_id": group_id}
            for clip_id, start, end, state, group_id in page.timeline
        ],
        "upcoming": upcoming,
        "queue_video": state.queue_video,
    }


def cut_review_json(request: Request, video_id: int, items: list[CutItem]) -> dict:
    frame_url = _path(request, "video_frame", video_id=video_id)
    return {
        "video_id": video_id,
        "items": [
            i.as_json()
            | {"before_url": f"{frame_url}?frame={i.frame - 1}", "after_url": f"{frame_url}?frame={i.frame}"}
            for i in items
        ],
    }


def history_json(entries: list[HistoryEntry]) -> dict:
    return {"entries": [e.as_json() for e in entries]}


def answer_json(request: Request, answer: Answer) -> dict:
    return {"result": answer.result.as_json(), "state": page_state_json(request, answer.state)}
