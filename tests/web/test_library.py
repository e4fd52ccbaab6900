"""The library page, its API and files, and the review page's similar-clips panel, on a library built once
per module by the real pipeline (ingest → detect → approve → export → keyframes → embeddings) from real
footage: bikes.mp4 (several shots) and tree.avi (one shot, split in two by a reviewer)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from heaters.adapters.db.connection import open_database
from heaters.adapters.db.models import Artifact, SourceVideo
from heaters.adapters.job_queue import JobQueue
from heaters.adapters.sample_media import DEFAULT_CACHE, fetch
from heaters.adapters.storage import storage_from_settings
from heaters.config import Settings
from heaters.runtime import Runtime
from heaters.services import review
from heaters.services.ingest import submit_source
from heaters.services.users import create_user
from heaters.web.app import create_app
from tests.adapters.conftest import fake_aws_credentials, moto_endpoint, s3_bucket_name, s3_storage  # noqa: F401
from tests.conftest import new_database, review_queue
from tests.pipeline.conftest import drain
from tests.web.conftest import PASSWORD, add_video, served, sign_in
from tests.web.test_browser import ARTIFACTS, browser, new_page  # noqa: F401 (browser is a fixture)

TREE_SPLIT = 111
SKIPPED_INDEX = 2  # the bikes clip left under review (skipped): its neighbours are embedded


@pytest.fixture(scope="module")
def library(postgres_admin_url, tmp_path_factory, bikes_proxy):
    """A runtime whose library holds the exported, keyframed and embedded clips of bikes.mp4 (but one,
    skipped in review) and of tree.avi (one shot, split in two); plus a video whose clips are all under
    review (rows and proxy only, no pipeline run)."""
    tmp = tmp_path_factory.mktemp("library")
    settings = Settings(
        data_dir=tmp / "data",
        database_url=new_database(postgres_admin_url),
        allowed_roots=[DEFAULT_CACHE],
        export_grace_seconds=0,
    )
    database = open_database(settings)
    runtime = Runtime(
        settings=settings, database=database, storage=storage_from_settings(settings), queue=JobQueue(database)
    )
    ana = create_user(database, "ana", PASSWORD)
    bikes = submit_source(runtime, str(fetch("bikes.mp4"))).video_id
    tree = submit_source(runtime, str(fetch("tree.avi"))).video_id
    drain(runtime)
    tree_clip = review.video_timeline(runtime, tree)[-1]
    review.act_and_show(runtime, ana.id, tree_clip.id, "split", frame=TREE_SPLIT)
    skipped = review.video_timeline(runtime, bikes)[SKIPPED_INDEX].id
    review_queue(
        runtime,
        ana.id,
        lambda clip: None if clip.state == "review_skipped" else "skip" if clip.id == skipped else "approve",
    )
    with runtime.database.engine.begin() as conn:  # the skipped clip came back to the queue: leave it unheld
        conn.execute(text("UPDATE clips SET claimed_by = NULL, claim_expires_at = NULL"))
    drain(runtime)
    unreviewed = add_video(runtime, bikes_proxy, title="Bikes, not reviewed yet")
    yield {"runtime": runtime, "bikes": bikes, "tree": tree, "skipped": skipped, "unreviewed": unreviewed}
    runtime.queue.close()
    database.engine.dispose()


@pytest.fixture(scope="module")
def app(library):
    return create_app(library["runtime"])


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, follow_redirects=False) as c:
        c.csrf = sign_in(c, "ana")
        yield c


@pytest.fixture(scope="module")
def anonymous(app):
    with TestClient(app, follow_redirects=False) as c:
        yield c


def clips_of(runtime, video_id):
    return review.video_timeline(runtime, video_id)


def an_embedded_clip(library) -> int:
    return clips_of(library["runtime"], library["bikes"])[0].id


def library_size(library) -> int:
    return len(clips_of(library["runtime"], library["bikes"])) - 1 + 2  # bikes but the skipped one, tree


# --- API


def test_everything_needs_a_signed_in_reviewer(library, anonymous):
    runtime = library["runtime"]
    clip_id = an_embedded_clip(library)
    with runtime.database.sessions() as session:
        keyframe_id = session.scalar(select(Artifact.id).where(Artifact.kind == "keyframe").limit(1))
    page = anonymous.get("/library?state=embedded")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/library")
    for url in (
        f"/keyframes/{keyframe_id}",
        f"/clips/{clip_id}/export.mp4",
        f"/clips/{clip_id}/export.mp4?download=1",
        f"/api/clips/{clip_id}/similar",
        f"/api/review/clips/{clip_id}/similar",
        "/api/search?text=bikes",
        "/api/library",
    ):
        assert anonymous.get(url).status_code == 401, url


def test_library_lists_every_exported_clip_with_keyframes(library, client):
    page = client.get("/library")
    assert page.status_code == 200 and 'id="grid"' in page.text and "/library" in page.text
    listing = client.get("/api/library").json()
    expected = library_size(library)
    assert listing["total"] == expected and len(listing["clips"]) == expected
    assert {c["state"] for c in listing["clips"]} == {"embedded"}
    first = listing["clips"][0]
    assert first["video_id"] == library["bikes"] and first["start_frame"] == 0
    assert len(first["keyframe_urls"]) == 3 and first["thumbnail_url"] == first["keyframe_urls"][1]
    assert first["export_size"] > 0 and first["searchable"]
    # filters and pages
    tree = client.get(f"/api/library?video={library['tree']}").json()
    assert [(c["start_frame"], c["end_frame"]) for c in tree["clips"]][0] == (0, TREE_SPLIT)
    assert tree["total"] == 2 and tree["counts"]["embedded"] == 2
    assert client.get("/api/library?state=exported").json()["total"] == 0
    assert client.get("/api/library?state=nonsense").status_code == 400
    one = client.get("/api/library?limit=1").json()
    two = client.get("/api/library?limit=1&offset=1").json()
    assert one["next_offset"] == 1 and two["clips"][0]["clip_id"] != one["clips"][0]["clip_id"]
    last = client.get(f"/api/library?limit=1&offset={expected - 1}").json()
    assert last["next_offset"] is None


def test_keyframes_are_served_with_etag_and_cache(library, client):
    first = client.get("/api/library").json()["clips"][0]
    response = client.get(first["thumbnail_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff" and "max-age" in response.headers["cache-control"]
    again = client.get(first["thumbnail_url"], headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/keyframes/999999").status_code == 404


def test_exported_clip_is_served_with_ranges_and_as_a_download(library, client):
    runtime = library["runtime"]
    clip_id = an_embedded_clip(library)
    with runtime.database.sessions() as session:
        export = session.scalars(select(Artifact).where(Artifact.clip_id == clip_id, Artifact.kind == "export")).one()
    whole = client.get(f"/clips/{clip_id}/export.mp4")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content == runtime.storage.read_bytes(export.key) and len(whole.content) == export.size_bytes
    assert whole.headers["etag"] == f'"{export.sha256}"' and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline")
    part = client.get(f"/clips/{clip_id}/export.mp4", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{export.size_bytes}"
    beyond = client.get(f"/clips/{clip_id}/export.mp4", headers={"Range": f"bytes={export.size_bytes + 10}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{export.size_bytes}"
    cached = client.get(f"/clips/{clip_id}/export.mp4", headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304
    download = client.get(f"/clips/{clip_id}/export.mp4?download=1")
    assert download.headers["content-disposition"].startswith("attachment; filename=")
    assert ".mp4" in download.headers["content-disposition"] and download.content == whole.content
    pending = library["skipped"]
    assert client.get(f"/clips/{pending}/export.mp4").status_code == 404


def test_with_s3_storage_playback_redirects_to_a_presigned_url_and_downloads_stream(library, s3_storage):  # noqa: F811
    local = library["runtime"]
    clip_id = an_embedded_clip(library)
    with local.database.sessions() as session:
        rows = session.scalars(select(Artifact).where(Artifact.clip_id == clip_id)).all()
    for row in rows:
        s3_storage.put_bytes(row.key, local.storage.read_bytes(row.key))
    export = next(r for r in rows if r.kind == "export")
    keyframe = next(r for r in rows if r.kind == "keyframe")
    runtime = Runtime(settings=local.settings, database=local.database, storage=s3_storage, queue=local.queue)
    with TestClient(create_app(runtime), follow_redirects=False) as s3_client:
        sign_in(s3_client, "ana")
        play = s3_client.get(f"/clips/{clip_id}/export.mp4")
        assert play.status_code == 307 and "Signature" in play.headers["location"]
        ranged = httpx.get(play.headers["location"], headers={"Range": "bytes=0-99"})
        assert ranged.status_code == 206 and ranged.content == local.storage.read_bytes(export.key)[:100]
        download = s3_client.get(f"/clips/{clip_id}/export.mp4?download=1")
        assert download.status_code == 200 and download.headers["content-disposition"].startswith("attachment")
        assert download.content == local.storage.read_bytes(export.key)
        image = s3_client.get(f"/keyframes/{keyframe.id}")
        assert image.status_code == 200 and image.content == local.storage.read_bytes(keyframe.key)


def test_similar_returns_the_clip_itself_first_then_its_sibling(library, client):
    runtime = library["runtime"]
    tree_first, tree_second = (c.id for c in clips_of(runtime, library["tree"]))
    answer = client.get(f"/api/clips/{tree_first}/similar?k=12")
    assert answer.status_code == 200
    hits = answer.json()["hits"]
    assert hits[0]["clip_id"] == tree_first and hits[0]["similarity"] == pytest.approx(1, abs=1e-5)
    assert hits[1]["clip_id"] == tree_second  # the other half of the same shot
    assert hits[0]["thumbnail_url"].startswith("/keyframes/") and hits[0]["export_url"].endswith("/export.mp4")
    assert len(hits) == client.get("/api/library").json()["total"]  # k=12 > library size: every clip
    pending = library["skipped"]
    refused = client.get(f"/api/clips/{pending}/similar")
    assert refused.status_code == 409 and "no embedding" in refused.json()["error"]
    assert client.get("/api/clips/999999/similar").status_code == 404


def test_text_search_explains_it_needs_a_clip_style_model(client):
    answer = client.get("/api/search", params={"text": "a tree in the wind"})
    assert answer.status_code == 409 and "CLIP-style" in answer.json()["error"]
    assert client.get("/api/search", params={"text": "  "}).status_code == 400


def test_review_panel_uses_the_nearest_embedded_clip_of_the_same_video(library, client):
    runtime = library["runtime"]
    # No clip of the video is embedded: no panel.
    unreviewed = clips_of(runtime, library["unreviewed"])[1].id
    assert client.get(f"/api/review/clips/{unreviewed}/similar").json() == {"anchor": None, "hits": []}
    # The skipped bikes clip stands for its nearest embedded neighbour: an adjacent clip (no frames
    # between them), the one whose start is nearer; both it and the neighbour are left out of the hits.
    bikes = clips_of(runtime, library["bikes"])
    skipped, before, after = bikes[SKIPPED_INDEX], bikes[SKIPPED_INDEX - 1], bikes[SKIPPED_INDEX + 1]
    nearer = before if skipped.start - before.start <= after.start - skipped.start else after
    answer = client.get(f"/api/review/clips/{skipped.id}/similar?k=4").json()
    assert answer["anchor"] == {
        "clip_id": nearer.id,
        "offset_seconds": pytest.approx((nearer.start - skipped.start) / 25.0),
        "same_clip": False,
    }
    ids = [h["clip_id"] for h in answer["hits"]]
    assert len(ids) == 4 and nearer.id not in ids and skipped.id not in ids
    # An embedded clip stands for itself.
    own = client.get(f"/api/review/clips/{before.id}/similar?k=3").json()
    assert own["anchor"] == {"clip_id": before.id, "offset_seconds": 0.0, "same_clip": True}
    assert len(own["hits"]) == 3 and before.id not in [h["clip_id"] for h in own["hits"]]


# --- browser


@pytest.fixture(scope="module")
def server(app):
    with served(app) as base:
        yield base


def browser_sign_in(page, target):
    page.goto(target)
    page.fill("input[name=name]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}*")


@pytest.mark.browser
def test_library_page_thumbnails_hover_play_and_similar(library, server, browser):  # noqa: F811
    runtime = library["runtime"]
    page = new_page(browser, server)
    browser_sign_in(page, "/library")
    total = library_size(library)
    page.wait_for_function(f"document.querySelectorAll('#grid .clip-card').length === {total}")
    page.wait_for_function(
        "[...document.querySelectorAll('#grid .clip-card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.inner_text("#library-count") == f"{total} of {total} clips"

    # hover plays the exported clip, muted
    card = page.locator("#grid .clip-card").nth(1)
    card.locator(".thumb").hover()
    video = card.locator("video")
    video.evaluate("v => new Promise(ok => v.currentTime > 0 ? ok() : v.addEventListener('timeupdate', ok))")
    first = video.evaluate("v => v.currentTime")
    page.wait_for_function("([v, t]) => v.currentTime !== t", arg=[video.element_handle(), first])
    assert video.evaluate("v => v.muted && v.loop && !v.paused")
    page.wait_for_function("c => c.querySelector('.thumb').classList.contains('playing')", arg=card.element_handle())
    Path(ARTIFACTS).mkdir(exist_ok=True)

    # Similar on a tree clip: itself first, then its other half
    tree_first, tree_second = (c.id for c in clips_of(runtime, library["tree"]))
    page.locator(f"#grid .clip-card[data-clip-id='{tree_first}'] .similar-btn").click()
    page.wait_for_selector("#results:not([hidden]) #results-grid .clip-card")
    ids = page.eval_on_selector_all("#results-grid .clip-card", "cs => cs.map(c => +c.dataset.clipId)")
    assert ids[:2] == [tree_first, tree_second] and len(ids) == total
    assert page.inner_text(f"#results-grid .clip-card[data-clip-id='{tree_first}'] .similarity") == "this clip"
    # hover-to-play works in the results too
    hit = page.locator("#results-grid .clip-card").nth(1)
    hit.locator(".thumb").hover()
    hit.locator("video").evaluate(
        "v => new Promise(ok => v.currentTime > 0 ? ok() : v.addEventListener('timeupdate', ok))"
    )

    # text search: the refusal is shown inline
    page.fill("#search-text", "a tree in the wind")
    page.click("#search-form button")
    page.wait_for_selector("#search-error:not([hidden])")
    assert "CLIP-style" in page.inner_text("#search-error")

    page.evaluate("window.scrollTo(0, 0)")
    card.locator(".thumb").hover()
    page.wait_for_function("c => c.querySelector('.thumb').classList.contains('playing')", arg=card.element_handle())
    page.screenshot(path=str(ARTIFACTS / "library.png"), full_page=True)

    # the state filter reloads the grid from the API and keeps the filter in the URL
    page.click("#filter-state .chip:not(.on)")
    page.wait_for_url("**/library?state=embedded")
    page.wait_for_function(f"document.querySelectorAll('#grid .clip-card').length === {total}")


@pytest.mark.browser
def test_review_page_shows_similar_clips_of_an_embedded_neighbour(library, server, browser):  # noqa: F811
    """The first clip in the queue (a video with nothing embedded) has no panel; the skipped bikes clip,
    opened in review, shows clips like its embedded neighbour, and they play on hover."""
    page = new_page(browser, server)
    browser_sign_in(page, "/review")
    page.wait_for_function("window.heaters && window.heaters.state().clip")
    unreviewed = {c.id for c in clips_of(library["runtime"], library["unreviewed"])}
    assert page.evaluate("window.heaters.state().clip.id") in unreviewed
    page.goto(f"/review/{library['skipped']}")
    page.wait_for_selector("#similar-clips:not([hidden]) .clip-card")
    cards = page.locator("#similar-clips .clip-card")
    assert cards.count() == 3
    assert "before" in page.inner_text("#similar-clips .similar-head") or "after" in page.inner_text(
        "#similar-clips .similar-head"
    )
    cards.nth(0).locator(".thumb").hover()
    cards.nth(0).locator("video").evaluate(
        "v => new Promise(ok => v.currentTime > 0 ? ok() : v.addEventListener('timeupdate', ok))"
    )
    # Back to a clip with nothing embedded near it: the panel hides again.
    page.goto(f"/review/{min(unreviewed)}")
    page.wait_for_function("window.heaters && window.heaters.state().clip")
    page.wait_for_function("document.querySelector('#similar-clips').hidden")
    page.goto(f"/review/{library['skipped']}")
    page.wait_for_selector("#similar-clips:not([hidden]) .clip-card")
    page.screenshot(path=str(ARTIFACTS / "review-similar.png"))


def test_a_title_outside_latin_1_downloads_from_s3_with_its_name(library, s3_storage):  # noqa: F811
    local = library["runtime"]
    clip_id = an_embedded_clip(library)
    with local.database.sessions() as session:
        export = session.scalars(select(Artifact).where(Artifact.clip_id == clip_id, Artifact.kind == "export")).one()
    s3_storage.put_bytes(export.key, local.storage.read_bytes(export.key))
    with local.database.sessions.begin() as session:
        video = session.get(SourceVideo, export.video_id)
        title, video.title = video.title, 'Велосипеды 🚲 "at dusk"'
    try:
        runtime = Runtime(settings=local.settings, database=local.database, storage=s3_storage, queue=local.queue)
        with TestClient(create_app(runtime), follow_redirects=False) as s3_client:
            sign_in(s3_client, "ana")
            download = s3_client.get(f"/clips/{clip_id}/export.mp4?download=1")
    finally:
        with local.database.sessions.begin() as session:
            session.get(SourceVideo, export.video_id).title = title
    assert download.status_code == 200 and download.content == local.storage.read_bytes(export.key)
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
    from urllib.parse import unquote

    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]).startswith("Велосипеды")
