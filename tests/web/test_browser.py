"""The review app in a real browser (Debian's chromium via Playwright) against a real server.

Screenshots land in test-artifacts/ at the repository root.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import update

from heaters.adapters.db.models import SourceVideo
from heaters.services import review
from heaters.web.app import create_app
from tests.web.conftest import PASSWORD, add_video, served

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
FPS = 25.0


@pytest.fixture
def server(runtime):
    """The app served by uvicorn on 127.0.0.1 (random port) in a thread; stopped at teardown."""
    runtime.settings.min_clip_seconds = 0.2  # 5 frames: room to split the short clips of the sample
    with served(create_app(runtime)) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser, base_url, *, enforce_csp: bool = False):
    """A page in a fresh context. Playwright's `wait_for_function` polls by evaluating strings, which our
    Content-Security-Policy (no 'unsafe-eval') forbids; tests that only drive the app bypass it, and the
    first review test runs with it enforced to show the pages work under it."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1440, "height": 900}, bypass_csp=not enforce_csp
    )
    page = context.new_page()
    page.csp_violations = []
    page.on(
        "console",
        lambda message: page.csp_violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return page


def sign_in(page, name="ana", target="/review"):
    page.goto(target)
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}*")


def wait_idle(page):
    page.wait_for_function("window.heaters && window.heaters.pending() === 0")


def shown(page) -> dict:
    return page.evaluate("window.heaters.state().clip")


def press(page, key):
    """Press a key as a reviewer does: once the clip on screen shows its first frame (decision keys pressed
    earlier are ignored by design), then wait for the answer."""
    page.wait_for_function("!window.heaters.state().clip || !window.heaters.ready || window.heaters.ready()")
    page.keyboard.press(key)
    wait_idle(page)


def spans(runtime, video_id):
    return [(c.start, c.end, str(c.state)) for c in review.video_timeline(runtime, video_id)]


def wait_playing(page, clip_id):
    page.wait_for_function(
        "id => window.heaters.state().clip.id === id && window.heaters.video.readyState >= 2"
        " && window.heaters.video.currentTime > 0",
        arg=clip_id,
    )


def pause_at(page, frame):
    if not page.evaluate("window.heaters.video.paused"):
        page.keyboard.press("Space")
    page.wait_for_function("window.heaters.video.paused")
    page.evaluate("window.heaters.video.currentTime = 0.5 / window.heaters.state().clip.fps")
    for _ in range(frame):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("f => window.heaters.currentFrame() === f", arg=frame)


def until(page, expression: str, timeout: float = 30) -> None:
    """Wait for a condition on a page that enforces its CSP: polled from here with `evaluate` (run by the
    browser's debugging protocol), since `wait_for_function` may evaluate its string with eval, which the CSP
    forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def test_sign_in_then_a_clip_plays_with_exactly_its_duration(server, browser, runtime, video_id, reviewers):
    page = new_page(browser, server, enforce_csp=True)
    sign_in(page)
    clip = shown(page)
    assert (clip["start_frame"], clip["end_frame"]) == (0, 30)
    playing = f"window.heaters.state().clip.id === {clip['id']} && window.heaters.video.readyState >= 2"
    until(page, playing + " && window.heaters.video.currentTime > 0")
    first = page.evaluate("window.heaters.video.currentTime")
    until(page, f"window.heaters.video.currentTime !== {first}")
    assert page.evaluate("window.heaters.video.paused") is False
    duration = page.evaluate("window.heaters.video.duration")
    assert abs(duration - 30 / FPS) <= 1 / FPS, duration
    assert page.inner_text("#clip-position") == "1" and page.inner_text("#clip-count") == "6"
    assert "Bikes at the crossing" in page.inner_text("#video-title")
    # frame stepping pauses and moves exactly one frame; speed keys change the rate
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    # The readout follows the video's seek, which lands a moment after the key press.
    until(page, "document.querySelector('#frame-now').textContent === '3'", timeout=5)
    page.keyboard.press("ArrowLeft")
    until(page, "window.heaters.currentFrame() === 2")
    page.keyboard.press("[")
    assert page.evaluate("window.heaters.video.playbackRate") == 0.5
    page.keyboard.press("]")
    page.keyboard.press("]")
    assert page.evaluate("window.heaters.video.playbackRate") == 1.5
    # the strip of thumbnails has loaded
    until(page, "document.querySelector('#strip').naturalWidth > 0")
    page.keyboard.press("Space")  # play again for a lively screenshot
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review.png"))
    assert page.csp_violations == []  # the page, its scripts, styles, video and strip all ran under the CSP


def test_each_action_by_its_key_and_undo_walks_back(server, browser, runtime, video_id, reviewers):
    page = new_page(browser, server)
    sign_in(page)
    ids = [c.id for c in review.video_timeline(runtime, video_id)]
    expected = []
    for key, state in (("a", "review_approved"), ("s", "review_skipped"), ("g", "review_approved")):
        press(page, key)
        expected.append(state)
    assert [s for *_, s in spans(runtime, video_id)][:3] == ["review_approved"] * 3  # G approved the skipped one too
    groups = [c.group_id for c in review.video_timeline(runtime, video_id)]
    assert groups[1] == groups[2] == ids[1]
    assert shown(page)["id"] == ids[3]
    press(page, "x")
    assert spans(runtime, video_id)[3][2] == "review_archived"
    assert shown(page)["id"] == ids[4]
    # a refusal shows inline, with the reason, and changes nothing
    before = spans(runtime, video_id)
    press(page, "m")  # merge with the archived clip before it
    assert "only clips under review" in page.inner_text("#notice")
    assert spans(runtime, video_id) == before
    for _ in range(4):
        press(page, "Control+z")
    assert [s for *_, s in spans(runtime, video_id)] == ["pending_review"] * 6
    assert all(c.group_id is None for c in review.video_timeline(runtime, video_id))
    assert shown(page)["id"] == ids[0]
    press(page, "Control+z")
    assert "nothing to undo" in page.inner_text("#notice")


def test_split_merge_move_then_undo_three_times_restores_the_exact_timeline(
    server, browser, runtime, video_id, reviewers
):
    original = spans(runtime, video_id)
    original_ids = [c.id for c in review.video_timeline(runtime, video_id)]
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{original_ids[1]}")  # clip [30, 76)
    wait_playing(page, original_ids[1])
    pause_at(page, 10)
    press(page, "k")  # split at video frame 40: the page shows the piece holding the playhead
    assert [s[:2] for s in spans(runtime, video_id)][:3] == [(0, 30), (30, 40), (40, 76)]
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (40, 76)
    page.wait_for_function("window.heaters.ready()")
    press(page, "m")  # merge [40, 76) into [30, 40)
    assert [s[:2] for s in spans(runtime, video_id)][:2] == [(0, 30), (30, 76)]
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (30, 76)
    page.wait_for_function("window.heaters.video.readyState >= 1")
    press(page, "Shift+ArrowRight")  # the clip's boundary nearest to the playhead (video frame 40) is 30
    assert [s[:2] for s in spans(runtime, video_id)][:2] == [(0, 31), (31, 76)]
    page.wait_for_function("window.heaters.video.readyState >= 2 && !window.heaters.video.seeking")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-after-cuts.png"))
    for _ in range(3):
        press(page, "Control+z")
    assert spans(runtime, video_id) == original
    assert [c.id for c in review.video_timeline(runtime, video_id)] == original_ids


def test_dragging_a_cut_on_the_timeline_moves_it(server, browser, runtime, video_id, reviewers):
    page = new_page(browser, server)
    sign_in(page)
    handle = page.locator('.cut[data-frame="30"]')
    box = handle.bounding_box()
    strip = page.locator("#timeline").bounding_box()
    target_x = strip["x"] + strip["width"] * 50 / 250
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(target_x, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    wait_idle(page)
    cuts = [s[0] for s in spans(runtime, video_id)][1:]
    assert cuts[0] != 30 and abs(cuts[0] - 50) <= 2, cuts


def test_two_reviewers_in_two_browsers_get_different_clips(server, browser, runtime, video_id, reviewers):
    ana, ben = new_page(browser, server), new_page(browser, server)
    sign_in(ana, "ana")
    sign_in(ben, "ben")
    assert shown(ana)["id"] != shown(ben)["id"]
    press(ana, "a")
    assert shown(ana)["id"] != shown(ben)["id"]


def test_anonymous_and_csrf_less_requests_are_refused(server, browser, runtime, video_id, reviewers):
    clip_id = review.video_timeline(runtime, video_id)[0].id
    anonymous = new_page(browser, server)
    anonymous.goto("/review")
    assert "/login" in anonymous.url
    assert anonymous.request.get(f"/clips/{clip_id}/video.mp4").status == 401
    assert anonymous.request.get(f"/videos/{video_id}/strip.jpg").status == 401
    page = new_page(browser, server)
    sign_in(page)
    assert page.request.get(f"/clips/{clip_id}/video.mp4").status == 200
    forged = page.request.post(f"/api/clips/{clip_id}/actions", data={"action": "approve"})
    assert forged.status == 403
    assert spans(runtime, video_id)[0][2] == "pending_review"


def test_dashboard_shows_states_and_live_progress(server, browser, runtime, video_id, reviewers, bikes_proxy):
    add_video(runtime, bikes_proxy, title="Street corner, second camera")
    with runtime.database.sessions.begin() as session:
        session.add(
            SourceVideo(
                source="https://example.com/talk.mp4",
                title="Conference talk",
                state="preprocessing",
                progress=0.42,
                attempts=1,
            )
        )
        session.add(
            SourceVideo(
                source="https://example.com/gone.mp4",
                title="gone.mp4",
                state="download_failed",
                attempts=3,
                last_error="HTTP Error 404: Not Found",
            )
        )
    ana = reviewers[0]
    for action in ("approve", "approve", "skip"):  # the first video: two reviewed, one skipped (not reviewed)
        clip = review.next_page(runtime, ana.id, video_id).clip
        review.act_and_show(runtime, ana.id, clip.id, action)
    page = new_page(browser, server)
    sign_in(page, target="/")
    page.wait_for_selector("tr[data-state=preprocessing] .bar")
    assert "42%" in page.inner_text("tr[data-state=preprocessing]")
    first = page.locator("tr", has_text="Bikes at the crossing").inner_text()
    assert "2/6 reviewed" in first and "3 to go" in first and "1 skipped" in first, first
    with runtime.database.sessions.begin() as session:
        session.execute(update(SourceVideo).where(SourceVideo.state == "preprocessing").values(progress=0.77))
    page.wait_for_function("document.querySelector('tr[data-state=preprocessing]').innerText.includes('77%')")
    assert page.locator("tr[data-state=download_failed] button.retry").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    page.click("tr[data-state=download_failed] button.retry")
    page.wait_for_selector(".flash")
    assert "Retrying download" in page.inner_text(".flash")
