"""A newcomer's first hour, end to end in a real browser.

Heaters is started as the README says (`heaters serve`, embedded database, in-process worker); a reviewer
signs in, uploads real footage through the dashboard, watches it become review-ready, reviews every clip by
keyboard (approve, archive, split, merge, undo), waits for export, keyframes and embeddings, finds similar
clips in the library and downloads an exported clip whose frames must equal the proxy's.

Screenshots land in test-artifacts/ (docs/screenshots/ for the README with HEATERS_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import pytest

from heaters.adapters.sample_media import fetch
from tests.e2e.conftest import ADMIN_PASSWORD, RunningApp

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# The README's screenshots are refreshed with HEATERS_UPDATE_SCREENSHOTS=1; other runs keep the tree clean.
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = _ROOT / ("docs/screenshots" if os.environ.get("HEATERS_UPDATE_SCREENSHOTS") else "test-artifacts")
VIEWPORT = {"width": 1440, "height": 900}
READY_TIMEOUT_MS = 600_000  # upload → review-ready: preprocessing and detection on a shared, slow CPU
ACTION_TIMEOUT_MS = 60_000
LIBRARY_TIMEOUT_S = 900  # export, keyframes and embeddings of every approved clip
MIN_CLIP_SECONDS = 1.0  # the default setting; a split must leave at least this much on both sides
DONE_STATES = {"embedded", "review_archived", "superseded"}
FAILED_STATES = {"export_failed", "keyframe_failed", "embedding_failed"}


def test_first_hour(running_app: RunningApp, browser, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    server_says_where_and_how(running_app)
    # bypass_csp: Playwright polls `wait_for_function` by evaluating strings, which our CSP forbids.
    context = browser.new_context(
        base_url=running_app.base_url, viewport=VIEWPORT, accept_downloads=True, bypass_csp=True
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    console_errors = []
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(f"{msg.text} {msg.location}"))

    sign_in(page)
    video_id = upload_and_wait_until_ready(page, fetch("bikes.mp4"))
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"))

    decided = review_every_clip(page)
    approved = [c for c, state in decided.items() if state != "review_archived"]  # some already exported
    assert approved, decided

    clips = wait_until_embedded(page, video_id, len(approved))
    similar_in_library(page)
    page.screenshot(path=str(SCREENSHOTS / "library.png"))

    exported = clips[0]
    downloaded = download_clip(page, exported, tmp_path)
    proxy = running_app.data_dir / "storage" / "proxies" / str(video_id) / "proxy.mp4"
    assert proxy.exists(), f"no proxy at {proxy}"
    assert frame_checksums(downloaded) == frame_checksums(proxy, exported["start_frame"], exported["end_frame"])
    assert not console_errors, console_errors
    text_search_answers(page)  # last: a refusal (409) is logged by the browser as a console error
    context.close()
    assert "Traceback" not in running_app.output(), running_app.output()


# --- 1. the server's first words ------------------------------------------------------------------------


def server_says_where_and_how(app: RunningApp) -> None:
    said = " ".join(app.output().split())  # the console wraps long lines
    assert f"{app.base_url}/" in said, said
    assert re.search(r"first reviewer.*admin", said), said


# --- 2. sign in, upload, wait for review-ready ----------------------------------------------------------


def sign_in(page) -> None:
    page.goto("/")
    assert "/login" in page.url, "the dashboard must ask a stranger to sign in"
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#upload-form")
    assert page.url == page.context.pages[0].url and page.url.endswith("/"), page.url


def upload_and_wait_until_ready(page, footage: Path) -> int:
    page.wait_for_selector("#no-videos:not([hidden])")
    flashes = page.locator(".flash")
    before = flashes.count()
    page.set_input_files("#upload-form input[type=file]", str(footage))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function("n => document.querySelectorAll('.flash').length > n", arg=before)
    flash = flashes.last
    assert "flash-error" not in (flash.get_attribute("class") or ""), flash.inner_text()
    assert footage.name in flash.inner_text(), flash.inner_text()
    row = page.wait_for_selector("#videos tbody tr[data-video-id]")
    video_id = int(row.get_attribute("data-video-id"))
    # The table is re-rendered every second from /api/videos: read the state from the page.
    page.wait_for_function(
        """id => {
            const row = document.querySelector(`#videos tr[data-video-id="${id}"]`);
            if (!row) return false;
            if (row.querySelector(".error")) throw new Error(row.innerText);
            return row.dataset.state === "scenes_detected";
        }""",
        arg=video_id,
        timeout=READY_TIMEOUT_MS,
        polling=500,
    )
    row = page.locator(f'#videos tr[data-video-id="{video_id}"]')
    assert "bikes" in row.inner_text().lower()
    assert re.search(r"0/\d+ reviewed", row.inner_text()), row.inner_text()
    return video_id


# --- 3. review every clip by keyboard ------------------------------------------------------------------


def wait_idle(page) -> None:
    page.wait_for_function("window.heaters && window.heaters.pending() === 0")


def shown(page) -> dict | None:
    return page.evaluate("window.heaters.state().clip")


def timeline(page) -> list[dict]:
    return page.evaluate("window.heaters.state().timeline")


def press(page, key: str) -> dict | None:
    """Press a key once the clip is on screen (decision keys pressed earlier are ignored by design) and wait
    for its action's answer; fail on a refusal shown to the reviewer."""
    page.wait_for_function("!window.heaters.state().clip || window.heaters.ready()")
    page.keyboard.press(key)
    wait_idle(page)
    notice = page.locator("#notice")
    if notice.is_visible() and "error" in (notice.get_attribute("class") or ""):
        pytest.fail(f"{key} was refused: {notice.inner_text()}")
    return shown(page)


def wait_playing(page, clip_id: int) -> None:
    page.wait_for_function(
        "id => window.heaters.state().clip.id === id && window.heaters.video.readyState >= 2",
        arg=clip_id,
    )


def step_to(page, frame: int) -> None:
    """Pause, go to the clip's first frame, then step forward with → like a reviewer."""
    if not page.evaluate("window.heaters.video.paused"):
        page.keyboard.press("Space")
    page.wait_for_function("window.heaters.video.paused")
    page.evaluate("window.heaters.video.currentTime = 0.5 / window.heaters.state().clip.fps")
    page.wait_for_function("window.heaters.currentFrame() === 0")
    for _ in range(frame):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("f => window.heaters.currentFrame() === f", arg=frame)


def review_every_clip(page) -> dict[int, str]:
    """Skip+merge the first two clips, approve, archive (undo it once, archive again), split a long clip,
    then approve until the queue is empty. Returns every clip's final review state by id."""
    page.goto("/review")
    first = shown(page)
    assert first is not None, "the review page shows no clip although the video is review-ready"
    wait_playing(page, first["id"])
    count = first["count"]
    assert count >= 4, f"expected at least 4 clips of bikes.mp4, got {count}: {timeline(page)}"

    # Merge: the first clip belongs with the second. Skip it, then M on the second joins them.
    second = press(page, "s")
    assert second["start_frame"] == first["end_frame"]
    merged = press(page, "m")
    assert (merged["start_frame"], merged["end_frame"]) == (first["start_frame"], second["end_frame"])
    assert merged["state"] == "pending_review"
    assert len(timeline(page)) == count - 1

    after_merge = press(page, "a")
    assert after_merge["start_frame"] == merged["end_frame"]

    # Archive one, undo it (Ctrl+Z brings the same clip back under review), archive it again.
    to_archive = after_merge
    next_clip = press(page, "x")
    assert next_clip["id"] != to_archive["id"]
    back = press(page, "Control+z")
    assert back["id"] == to_archive["id"] and back["state"] == "pending_review", back
    next_clip = press(page, "x")

    # Split the first clip long enough to leave the minimum length on both sides; approve the others.
    current = next_clip
    split_done = False
    while current is not None and not split_done:
        wait_playing(page, current["id"])
        min_frames = round(MIN_CLIP_SECONDS * current["fps"])
        if current["frames"] >= 2 * min_frames:
            page.screenshot(path=str(SCREENSHOTS / "review.png"))  # timeline: approved, archived, pending
            at = current["frames"] // 2
            step_to(page, at)
            # What the reviewer sees (updated when the seek lands) must agree with where K will split.
            page.wait_for_function("f => document.querySelector('#frame-now').textContent === String(f)", arg=at)
            before = len(timeline(page))
            piece = press(page, "k")
            # the page shows the piece holding the split frame: the playhead stays where it was
            assert (piece["start_frame"], piece["end_frame"]) == (current["start_frame"] + at, current["end_frame"])
            assert len(timeline(page)) == before + 1
            split_done = True
        current = press(page, "a")
    assert split_done, f"no clip long enough to split: {timeline(page)}"

    while current is not None:
        wait_playing(page, current["id"])
        current = press(page, "a")

    # Done: the page says so, and nothing in the video is left under review.
    page.wait_for_selector("#empty:not([hidden])")
    assert "Nothing to review" in page.locator("#empty").inner_text()
    assert page.evaluate("document.body.classList.contains('queue-empty')")
    response = page.request.get("/api/review/next")
    assert response.ok and response.json().get("clip") is None, response.text()
    final = page.request.get(f"/api/review/clips/{merged['id']}").json()["timeline"]
    states = {c["id"]: c["state"] for c in final}
    assert "pending_review" not in states.values() and "review_skipped" not in states.values(), final
    assert list(states.values()).count("review_archived") == 1, final
    return states


# --- 4. export, keyframes, embeddings ------------------------------------------------------------------


def wait_until_embedded(page, video_id: int, expected: int) -> list[dict]:
    deadline = time.monotonic() + LIBRARY_TIMEOUT_S
    while True:
        clips = page.request.get(f"/api/library?video={video_id}&limit=100").json()["clips"]
        failed = [c for c in clips if c["state"] in FAILED_STATES]
        assert not failed, f"clips failed after review: {failed}"
        if len(clips) == expected and all(c["state"] == "embedded" for c in clips):
            return clips
        assert time.monotonic() < deadline, f"not embedded after {LIBRARY_TIMEOUT_S} s: {clips}"
        time.sleep(2)


# --- 5. library, similar clips, download ---------------------------------------------------------------


def similar_in_library(page) -> None:
    page.goto("/library")
    cards = page.locator("#grid .clip-card")
    cards.first.wait_for()
    assert cards.count() >= 2
    page.wait_for_function(
        "[...document.querySelectorAll('#grid .clip-card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    button = cards.first.locator(".similar-btn")
    assert button.is_enabled(), "Similar is disabled on an embedded clip"
    button.click()
    page.wait_for_selector("#results:not([hidden])")
    results = page.locator("#results-grid .clip-card")
    results.first.wait_for()
    others = page.locator("#results-grid .clip-card:not(.self)")
    assert others.count() >= 1, page.locator("#results").inner_text()
    page.wait_for_function(
        "[...document.querySelectorAll('#results-grid .clip-card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.evaluate("window.scrollTo(0, 0)")


def text_search_answers(page) -> None:
    """The search box is always offered: it answers with clips, or (image-only model, the offline default)
    with a message saying why not; never with silence."""
    page.fill("#search-text", "cyclists at a crossing")
    page.click("#search-form button[type=submit]")
    page.wait_for_function(
        "!document.querySelector('#search-error').hidden"
        " || document.querySelector('#results-title').textContent.startsWith('Matches')"
    )
    if page.locator("#search-error").is_visible():
        print("text search refused:", page.locator("#search-error").inner_text())
        assert page.locator("#search-error").inner_text().strip()
    else:
        assert page.locator("#results-grid .clip-card").count() >= 1
    page.keyboard.press("Escape")


def download_clip(page, clip: dict, tmp_path: Path) -> Path:
    card = page.locator(f'#grid .clip-card[data-clip-id="{clip["clip_id"]}"]')
    href = card.locator("a.download").get_attribute("href")
    assert href == clip["download_url"]
    response = page.request.get(href)  # the browser's session cookie
    assert response.ok, response.status
    assert "attachment" in response.headers.get("content-disposition", "")
    path = tmp_path / "clip.mp4"
    path.write_bytes(response.body())
    return path


def frame_checksums(path: Path, start: int = 0, end: int | None = None) -> list[str]:
    import av

    sums = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if end is not None and index >= end:
                break
            if index >= start:
                sums.append(hashlib.sha256(frame.to_ndarray().tobytes()).hexdigest())
    assert sums, f"no frames decoded from {path}"
    return sums
