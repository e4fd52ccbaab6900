"""The web app over HTTP (no browser): sign-in, CSRF, clip media with Range/ETag, actions, dashboard."""

from __future__ import annotations

import hashlib
import io

import av
from sqlalchemy import select
from typer.testing import CliRunner

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import SourceVideo
from heaters.adapters.media.clip import cut_clip_bytes
from heaters.services import review
from heaters.services.users import authenticate
from tests.web.conftest import PASSWORD, csrf_of


def timeline(runtime, video_id):
    return [(c.start, c.end, str(c.state)) for c in review.video_timeline(runtime, video_id)]


def decoded_frames(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


# --- who may do what


def test_anonymous_pages_redirect_to_sign_in_and_media_and_api_are_refused(anonymous, video_id, runtime):
    clip_id = review.video_timeline(runtime, video_id)[0].id
    for page in ("/", "/review", f"/review/{clip_id}"):
        response = anonymous.get(page)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/")
    for url in (f"/clips/{clip_id}/video.mp4", f"/videos/{video_id}/strip.jpg", "/api/review/next", "/api/videos"):
        assert anonymous.get(url).status_code == 401, url
    token = csrf_of(anonymous.get("/login").text)  # a CSRF token alone does not make a reviewer
    response = anonymous.post(
        f"/api/clips/{clip_id}/actions", json={"action": "approve"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 401
    assert timeline(runtime, video_id)[0][2] == "pending_review"


def test_sign_in_needs_the_right_password_and_a_csrf_token(anonymous, reviewers):
    token = csrf_of(anonymous.get("/login").text)
    assert (
        anonymous.post("/login", data={"name": "ana", "password": "wrong-password", "csrf_token": token}).status_code
        == 401
    )
    assert anonymous.post("/login", data={"name": "ana", "password": PASSWORD}).status_code == 403
    response = anonymous.post(
        "/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token, "next": "/review"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/review"
    assert anonymous.get("/review").status_code == 200
    # The session's token changes at sign-in, and sign-out needs it.
    new_token = csrf_of(anonymous.get("/").text)
    assert new_token != token
    assert anonymous.post("/logout", data={}).status_code == 403
    assert anonymous.post("/logout", data={"csrf_token": new_token}).status_code == 303
    assert anonymous.get("/review").status_code == 303


def test_sign_in_never_redirects_off_site(anonymous, reviewers):
    token = csrf_of(anonymous.get("/login").text)
    response = anonymous.post(
        "/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/review"


def test_writes_without_the_csrf_token_are_refused(client, video_id, runtime):
    clip_id = review.video_timeline(runtime, video_id)[0].id
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        assert (
            client.post(f"/api/clips/{clip_id}/actions", json={"action": "approve"}, headers=headers).status_code == 403
        )
        assert client.post("/api/undo", headers=headers).status_code == 403
    assert client.post("/videos", data={"source": "https://example.com/a.mp4"}).status_code == 403
    assert timeline(runtime, video_id)[0][2] == "pending_review"
    with runtime.database.sessions() as session:
        assert session.scalars(select(SourceVideo.source)).all() == ["bikes.mp4"]


# --- clip media


def test_clip_video_is_exactly_the_clips_frames_with_range_etag_and_private_caching(
    client, video_id, runtime, bikes_proxy
):
    clip = review.video_timeline(runtime, video_id)[1]  # frames [30, 76)
    url = f"/clips/{clip.id}/video.mp4"
    full = client.get(url)
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["cache-control"].startswith("private")
    assert full.content == cut_clip_bytes(bikes_proxy, 30, 76)
    assert decoded_frames(full.content) == 46
    size, etag = len(full.content), full.headers["etag"]

    part = client.get(url, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == full.content[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{size}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == full.content[-10:]
    open_ended = client.get(url, headers={"Range": f"bytes={size - 5}-"})
    assert open_ended.status_code == 206 and open_ended.content == full.content[-5:]
    beyond = client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    stale_if_range = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale_if_range.status_code == 200 and len(stale_if_range.content) == size


def test_a_cut_operation_changes_the_clips_url_and_etag(client, video_id, runtime):
    first = review.video_timeline(runtime, video_id)[2]  # frames [76, 137)
    before = client.get(f"/clips/{first.id}/video.mp4")
    answer = client.post(
        f"/api/clips/{first.id}/actions", json={"action": "split", "frame": 106}, headers={"X-CSRF-Token": client.csrf}
    )
    assert answer.status_code == 200, answer.text
    shown = answer.json()["state"]["clip"]
    assert (shown["start_frame"], shown["end_frame"]) == (106, 137)  # the piece holding the split frame
    assert shown["video_url"] == f"/clips/{shown['id']}/video.mp4?v=106-137"
    after = client.get(shown["video_url"])
    assert after.headers["etag"] != before.headers["etag"]
    assert decoded_frames(after.content) == 31


def test_timeline_strip_is_a_jpeg_and_cached(client, video_id):
    response = client.get(f"/videos/{video_id}/strip.jpg?tiles=8")
    assert response.status_code == 200 and response.content[:3] == b"\xff\xd8\xff"
    with av.open(io.BytesIO(response.content)) as image:
        frame = next(image.decode(video=0))
        assert frame.height == 72 and frame.width >= 8 * 160
    assert (
        client.get(
            f"/videos/{video_id}/strip.jpg?tiles=8", headers={"If-None-Match": response.headers["etag"]}
        ).status_code
        == 304
    )


# --- actions


def test_actions_move_through_the_queue_and_refusals_are_409_with_the_reason(client, video_id, runtime, reviewers):
    headers = {"X-CSRF-Token": client.csrf}
    state = client.get("/api/review/next").json()
    first = state["clip"]
    assert (first["start_frame"], first["position"], first["count"]) == (0, 1, 6)
    assert len(state["timeline"]) == 6 and state["upcoming"]
    refused = client.post(f"/api/clips/{first['id']}/actions", json={"action": "merge"}, headers=headers)
    assert refused.status_code == 409 and "first clip" in refused.json()["error"]
    answer = client.post(f"/api/clips/{first['id']}/actions", json={"action": "approve"}, headers=headers).json()
    assert answer["result"]["message"].startswith("approved")
    assert answer["state"]["clip"]["start_frame"] == 30
    assert timeline(runtime, video_id)[0][2] == "review_approved"
    undo = client.post("/api/undo", headers=headers).json()
    assert undo["state"]["clip"]["id"] == first["id"]
    assert timeline(runtime, video_id)[0][2] == "pending_review"
    bad = client.post(f"/api/clips/{first['id']}/actions", json={"action": "explode"}, headers=headers)
    assert bad.status_code == 422


def test_the_review_page_renders_the_claimed_clip(client, video_id):
    page = client.get("/review")
    assert page.status_code == 200
    assert '"video_title": "Bikes at the crossing"' in page.text and 'id="player"' in page.text


# --- dashboard


def test_dashboard_lists_videos_and_submits_a_url(client, video_id, runtime):
    listed = client.get("/api/videos").json()
    assert [v["id"] for v in listed["videos"]] == [video_id]
    assert listed["videos"][0]["clips"] == 6 and listed["videos"][0]["pending_review"] == 6
    response = client.post(
        "/videos",
        data={"source": "https://example.com/talk.mp4", "csrf_token": client.csrf},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200 and response.json()["created"]
    assert client.get("/").status_code == 200
    states = {v["source"]: v["state"] for v in client.get("/api/videos").json()["videos"]}
    assert states["https://example.com/talk.mp4"] == "new"


def _multipart(client, files, fields=None, headers=None):
    return client.post(
        "/videos/upload", files=files, data=fields or {}, headers={"Accept": "application/json", **(headers or {})}
    )


def test_upload_streams_into_storage_and_joins_the_ingest_pathway(client, runtime, bikes_proxy):
    body = bikes_proxy.read_bytes()
    response = _multipart(client, {"file": ("my clip.mp4", body, "video/mp4")}, headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 200, response.text
    video_id = response.json()["video_id"]
    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, video_id)
        assert (video.source, video.state, video.title) == ("upload:my clip.mp4", "new", "my clip")
        assert video.original_key == f"originals/{video_id}/original.mp4"
        assert video.content_sha256 == hashlib.sha256(body).hexdigest()
    assert runtime.storage.read_bytes(video.original_key) == body
    assert not (runtime.settings.data_path / "uploads").exists()  # nothing kept on the web machine's disk
    again = _multipart(client, {"file": ("copy.mp4", body, "video/mp4")}, headers={"X-CSRF-Token": client.csrf})
    assert (again.json()["video_id"], again.json()["created"]) == (video_id, False)
    assert list(runtime.storage.list("originals/")) == [video.original_key]


def test_upload_refusals_leave_nothing_behind(client, runtime, bikes_proxy):
    html = b"<!doctype html><html><body>not a video</body></html>" * 20
    not_video = _multipart(client, {"file": ("page.mp4", html, "video/mp4")}, headers={"X-CSRF-Token": client.csrf})
    assert not_video.status_code == 400 and "does not look like a video" in not_video.json()["error"]
    no_token = _multipart(client, {"file": ("a.mp4", bikes_proxy.read_bytes(), "video/mp4")})
    assert no_token.status_code == 403
    field_token = _multipart(  # the form's hidden field works too (before the file)
        client, {"file": ("a.mp4", bikes_proxy.read_bytes(), "video/mp4")}, fields={"csrf_token": client.csrf}
    )
    assert field_token.status_code == 200
    runtime.settings.max_upload_bytes = 10_000
    too_big = _multipart(
        client, {"file": ("big.mp4", bikes_proxy.read_bytes(), "video/mp4")}, headers={"X-CSRF-Token": client.csrf}
    )
    assert too_big.status_code == 413
    with runtime.database.sessions() as session:
        (accepted,) = session.scalars(select(SourceVideo)).all()
    assert list(runtime.storage.list("")) == [accepted.original_key]


def test_retry_requeues_a_failed_video_only(client, runtime, video_id):
    with runtime.database.sessions.begin() as session:
        failed = SourceVideo(
            source="https://example.com/x.mp4", state="download_failed", attempts=3, last_error="HTTP 404"
        )
        session.add(failed)
        session.flush()
        failed_id = failed.id
    listed = {v["id"]: v for v in client.get("/api/videos").json()["videos"]}
    assert listed[failed_id]["failed"] and listed[failed_id]["last_error"] == "HTTP 404"
    headers = {"X-CSRF-Token": client.csrf, "Accept": "application/json"}
    assert client.post(f"/videos/{failed_id}/retry", headers=headers).json()["stage"] == "download"
    with runtime.database.sessions() as session:
        assert session.get(SourceVideo, failed_id).attempts == 0
    assert client.post(f"/videos/{video_id}/retry", headers=headers).status_code == 409


def test_cli_user_add_creates_a_reviewer_who_can_sign_in(runtime, settings, monkeypatch):
    from heaters.cli import app as cli_app

    monkeypatch.setenv("HEATERS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HEATERS_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(cli_app, ["user", "add", "carla", "--password", "s3cret-enough"])
    assert result.exit_code == 0, result.output
    assert authenticate(runtime.database, "carla", "s3cret-enough") is not None
    prompted = CliRunner().invoke(cli_app, ["user", "add", "dan"], input="pw-long-enough\npw-long-enough\n")
    assert prompted.exit_code == 0, prompted.output
    assert authenticate(runtime.database, "dan", "pw-long-enough") is not None
    again = CliRunner().invoke(cli_app, ["user", "add", "dan", "--password", "pw-long-enough"])
    assert again.exit_code == 2 and "already exists" in again.output
    with runtime.database.sessions() as session:
        assert session.scalar(select(ClipRow.id).limit(1)) is None
