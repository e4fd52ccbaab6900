"""The pipeline dashboard: videos with state and live progress, submit a URL, upload a file, retry."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from heaters.domain.errors import BadInput, NotFound
from heaters.services import dashboard, ingest, intake, interchange
from heaters.services.retry import retry
from heaters.services.status import status_counts
from heaters.services.users import Reviewer
from heaters.web.security import CSRF_FIELD, CSRF_HEADER, api_user, csrf_valid, page_user, require_csrf_form
from heaters.web.templating import flash, render
from heaters.web.uploads import receive_upload

router = APIRouter()


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.get("/")
def dashboard_page(request: Request, user: Reviewer = Depends(page_user)):
    runtime = request.app.state.runtime
    return render(
        request,
        "dashboard.html",
        videos=[v.as_json() for v in dashboard.list_videos(runtime)],
        counts=status_counts(runtime).as_json(),
        max_upload_bytes=runtime.settings.max_upload_bytes,
    )


@router.get("/api/videos")
def api_videos(request: Request, user: Reviewer = Depends(api_user)) -> dict:
    runtime = request.app.state.runtime
    return {
        "videos": [v.as_json() for v in dashboard.list_videos(runtime)],
        "counts": status_counts(runtime).as_json(),
    }


@router.post("/videos", dependencies=[Depends(require_csrf_form)])
async def submit_form(request: Request, user: Reviewer = Depends(page_user)):
    form = await request.form()
    source = str(form.get("source", "")).strip()
    force = form.get("force") == "on"
    if not source:
        raise BadInput("enter a URL or a path")
    # A local path is copied into storage by this process: off the event loop.
    submitted = await run_in_threadpool(ingest.submit_source, request.app.state.runtime, source, force=force)
    message = (
        f"Added video {submitted.video_id}."
        if submitted.created
        else f"Already added as video {submitted.video_id} (tick 'again' to ingest it once more)."
    )
    if _wants_json(request):
        return {"video_id": submitted.video_id, "created": submitted.created, "message": message}
    flash(request, message)
    return RedirectResponse("/", status_code=303)


@router.post("/videos/upload")
async def upload(request: Request, user: Reviewer = Depends(page_user)):
    """Multipart upload streamed into storage; the CSRF token comes in the header or a field before the file."""
    runtime = request.app.state.runtime
    header_ok = csrf_valid(request, request.headers.get(CSRF_HEADER))

    def allow_file(fields: dict[str, str]) -> bool:
        return header_ok or csrf_valid(request, fields.get(CSRF_FIELD))

    sink = intake.UploadSink(runtime)
    received = await receive_upload(request, sink, runtime.settings.max_upload_bytes, allow_file)
    submitted = await run_in_threadpool(intake.record_upload, runtime, sink, received.filename)
    if submitted.created:
        message = f"Uploaded {received.filename} ({received.size:,} bytes) as video {submitted.video_id}."
    else:
        message = f"The same file was already ingested as video {submitted.video_id}."
    if _wants_json(request):
        return {
            "video_id": submitted.video_id,
            "created": submitted.created,
            "size": received.size,
            "message": message,
        }
    flash(request, message)
    return RedirectResponse("/", status_code=303)


@router.post("/videos/{video_id}/retry", dependencies=[Depends(require_csrf_form)])
def retry_video(video_id: int, request: Request, user: Reviewer = Depends(page_user)):
    done = retry(request.app.state.runtime, "video", video_id)
    message = f"Retrying {done.stage} of video {video_id}."
    if _wants_json(request):
        return {"stage": done.stage, "message": message}
    flash(request, message)
    return RedirectResponse("/", status_code=303)


TIMELINE_TYPES = {"otio": "application/vnd.opentimelineio+json", "edl": "text/plain; charset=utf-8"}


@router.get("/videos/{video_id}/timeline.{format_name}")
def timeline_download(video_id: int, format_name: str, request: Request, user: Reviewer = Depends(api_user)):
    """The video's review as an OpenTimelineIO timeline (or EDL), as a file download."""
    if format_name not in TIMELINE_TYPES:
        raise NotFound(f"unknown timeline format {format_name!r} (otio or edl)")
    timeline = interchange.export_timeline(request.app.state.runtime, video_id, format_name)
    return Response(
        timeline.data,
        media_type=TIMELINE_TYPES[format_name],
        headers={"Content-Disposition": f'attachment; filename="{timeline.filename}"'},
    )
