"""Review v2 in a real browser: the defects a reviewer's whole day found (one test each), the new keys and
modes, and two reviewers in two browser contexts. Bikes clips: [0,30) [30,76) [76,137) [137,187) [187,242)
[242,250)."""

# ruff: noqa: F811  (the browser fixtures are imported by name)
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.uow import transaction
from heaters.services import review
from tests.web.conftest import add_video
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    browser,
    new_page,
    pause_at,
    press,
    server,
    shown,
    sign_in,
    spans,
    wait_idle,
    wait_playing,
)

pytestmark = pytest.mark.browser


def ids_of(runtime, video_id):
    return [c.id for c in review.video_timeline(runtime, video_id)]


def set_state(runtime, clip_id, state):
    """What a later stage does to a clip (export), through the pipeline's own gateway (it announces the
    change to pages showing the video)."""
    with transaction(runtime.database) as uow:
        uow.clips.finish(clip_id, state)


def wait_ready(page, clip_id):
    page.wait_for_function(
        "id => window.heaters.state().clip && window.heaters.state().clip.id === id"
        " && (window.heaters.ready ? window.heaters.ready() : window.heaters.video.readyState >= 2)",
        arg=clip_id,
    )


def open_paused(page, runtime, clip_id, frame, name="ana"):
    sign_in(page, name, target=f"/review/{clip_id}")
    wait_playing(page, clip_id)
    pause_at(page, frame)


# --- defect 1: Shift+→ repeated moves the cut the reviewer is nudging, and the page stays on its clip


def test_defect1_repeated_nudges_move_the_same_cut_and_stay_on_the_clip(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    open_paused(page, runtime, ids[2], 2)  # clip [76, 137), video frame 78
    for _ in range(3):
        press(page, "Shift+ArrowRight")
    assert [s[:2] for s in spans(runtime, video_id)][:3] == [(0, 30), (30, 79), (79, 137)]
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (79, 137)
    # the cut went past the playhead (frame 78): the page says so and shows the clip's first frame
    assert "playhead" in page.inner_text("#notice")
    # Shift+← twice brings the same cut back to 77; the clip stays on screen
    press(page, "Shift+ArrowLeft")
    press(page, "Shift+ArrowLeft")
    assert [s[:2] for s in spans(runtime, video_id)][:3] == [(0, 30), (30, 77), (77, 137)]
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (77, 137)


def test_defect1_nudge_at_the_end_of_a_clip_moves_its_end_cut(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    open_paused(page, runtime, ids[1], 44)  # clip [30, 76), video frame 74: its end cut (76) is nearest
    press(page, "Shift+ArrowLeft")
    press(page, "Shift+ArrowLeft")
    assert [s[:2] for s in spans(runtime, video_id)][:3] == [(0, 30), (30, 74), (74, 137)]
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (30, 74)


# --- defect 2: the queue ends while skipped clips exist


def test_defect2_pending_first_then_skipped_never_the_one_just_skipped_and_the_queue_ends(
    server, browser, runtime, video_id, reviewers
):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page)
    wait_ready(page, ids[0])
    press(page, "s")
    wait_ready(page, ids[1])
    press(page, "s")
    for clip_id in ids[2:]:
        wait_ready(page, clip_id)
        press(page, "a")
    # pending clips ran out: the skipped ones come back, oldest skip first
    wait_ready(page, ids[0])
    press(page, "s")  # skipped again: advances, to the other skipped clip, never the same one
    wait_ready(page, ids[1])
    press(page, "s")
    page.wait_for_function("window.heaters.state().clip === null")
    assert page.is_visible("#empty")
    page.reload()
    page.wait_for_function("window.heaters && window.heaters.state().clip === null")
    assert [s for *_, s in spans(runtime, video_id)][:2] == ["review_skipped", "review_skipped"]


# --- defect 3: → on a clip's last frame stays on the last frame


def test_defect3_right_arrow_on_the_last_frame_stays_there(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    open_paused(page, runtime, ids[1], 44)  # the last frame of [30, 76)
    for _ in range(4):
        page.keyboard.press("ArrowRight")
        page.wait_for_function("!window.heaters.video.seeking")
        assert page.evaluate("window.heaters.currentFrame()") == 45
        assert page.evaluate("window.heaters.video.currentTime") > 1.0
        assert page.inner_text("#frame-now") == "45"


# --- defect 4: group is metadata: it works on exported clips, and never decides an unseen clip silently


def test_defect4_group_with_an_exported_previous_clip_and_never_with_an_unreviewed_one(
    server, browser, runtime, video_id, reviewers
):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page)
    wait_ready(page, ids[0])
    press(page, "a")
    set_state(runtime, ids[0], "exporting")
    set_state(runtime, ids[0], "exported")
    wait_ready(page, ids[1])
    press(page, "g")
    clips = review.video_timeline(runtime, video_id)
    assert [str(c.state) for c in clips[:2]] == ["exported", "review_approved"]
    assert clips[0].group_id == clips[1].group_id == ids[0]
    # clip 4 (pending, never reviewed) cannot be grouped into by clip 5: the page says why, nothing changes
    page.goto(f"/review/{ids[4]}")
    wait_ready(page, ids[4])
    press(page, "g")
    assert "not been reviewed" in page.inner_text("#notice")
    assert [s for *_, s in spans(runtime, video_id)][3:5] == ["pending_review", "pending_review"]


# --- defect 5: undo steps over what can no longer be undone


def test_defect5_undo_steps_over_an_exported_clip_and_says_so(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page)
    wait_ready(page, ids[0])
    press(page, "a")
    wait_ready(page, ids[1])
    press(page, "a")
    set_state(runtime, ids[1], "exporting")
    press(page, "Control+z")
    assert f"clip {ids[1]}" in page.inner_text("#notice") and "exported" in page.inner_text("#notice")
    assert [s for *_, s in spans(runtime, video_id)][:2] == ["pending_review", "exporting"]
    assert shown(page)["id"] == ids[0]


# --- defect 6: decision keys wait for the clip's first frame


def test_defect6_keys_while_the_next_clip_loads_are_ignored(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page)
    wait_ready(page, ids[0])
    page.keyboard.press("a")
    page.keyboard.press("a")  # 0 ms later: the answer (and the next clip) has not arrived
    wait_idle(page)
    assert [s for *_, s in spans(runtime, video_id)][:2] == ["review_approved", "pending_review"]
    # the next clip's video is slow to arrive: keys pressed before its first frame is on screen do nothing
    release = []
    page.route("**/clips/*/video.mp4*", lambda route: release.append(route))
    page.evaluate("window.heaters.dropPrefetched()")
    wait_ready(page, ids[1])
    press(page, "a")
    page.wait_for_function("id => window.heaters.state().clip.id === id", arg=ids[2])
    page.keyboard.press("a")
    page.keyboard.press("k")
    wait_idle(page)
    assert [s for *_, s in spans(runtime, video_id)][1:4] == ["review_approved", "pending_review", "pending_review"]
    assert "wait" in page.inner_text("#notice")
    page.unroute("**/clips/*/video.mp4*")
    for route in release:
        try:
            route.continue_()
        except Exception:  # noqa: BLE001 — already answered when the route was removed
            pass


# --- defect 7: claims, a stale page, a superseded URL (two reviewers, two browser contexts)


def test_defect7_two_reviewers_claim_live_timeline_and_superseded_redirect(
    server, browser, runtime, video_id, reviewers
):
    ids = ids_of(runtime, video_id)
    ana, ben = new_page(browser, server), new_page(browser, server)
    sign_in(ana)
    wait_ready(ana, ids[0])
    sign_in(ben, "ben", target=f"/review/{ids[0]}")
    wait_ready(ben, ids[0])
    assert "ana" in ben.inner_text("#held")
    press(ben, "x")  # the API answers 409 naming the holder; the page shows it
    assert "ana" in ben.inner_text("#notice") and "until" in ben.inner_text("#notice")
    ARTIFACTS.mkdir(exist_ok=True)
    ben.screenshot(path=str(ARTIFACTS / "review-held.png"))
    assert spans(runtime, video_id)[0][2] == "pending_review"
    # ana splits her clip: ben's page, showing the same video, sees the new cut within a second
    ana.evaluate("window.heaters.video.pause()")
    pause_at(ana, 10)
    press(ana, "k")
    assert [s[:2] for s in spans(runtime, video_id)][:2] == [(0, 10), (10, 30)]
    ben.wait_for_function("document.querySelector('.cut[data-frame=\"10\"]') !== null", timeout=1000)
    # the clip ben was viewing was replaced: his page moved to the clip that now holds its first frame
    ben.wait_for_function("window.heaters.state().clip.start_frame === 0 && window.heaters.state().clip.end_frame < 30")
    # reloading the superseded clip's URL redirects to the clip holding its first frame
    first_piece = ids_of(runtime, video_id)[0]
    ben.goto(f"/review/{ids[0]}")
    ben.wait_for_url(f"**/review/{first_piece}")
    assert "superseded" not in ben.inner_text("#clip-state")


# --- defect 8: after an action, the next clip of the same video (not an old claim elsewhere)


def test_defect8_after_an_action_the_next_clip_of_the_same_video(
    server, browser, runtime, video_id, reviewers, bikes_proxy
):
    other = add_video(runtime, bikes_proxy, title="Second camera")
    other_ids = ids_of(runtime, other)
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{other_ids[3]}")  # ana holds a clip of the other video…
    wait_ready(page, other_ids[3])
    with runtime.database.sessions.begin() as session:  # …long ago: the claim has expired
        session.execute(
            update(ClipRow)
            .where(ClipRow.id == other_ids[3])
            .values(claim_expires_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    page.goto(f"/review/{ids[2]}")
    wait_ready(page, ids[2])
    press(page, "a")
    assert shown(page)["id"] == ids[3]


# --- defect 9: stale displays


def test_defect9_timeline_follows_export_and_the_empty_queue_has_no_controls(
    server, browser, runtime, video_id, reviewers
):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page)
    wait_ready(page, ids[0])
    press(page, "a")
    wait_ready(page, ids[1])
    set_state(runtime, ids[0], "exporting")
    set_state(runtime, ids[0], "exported")
    page.wait_for_selector(f'.seg.exported[data-clip-id="{ids[0]}"]', timeout=5000)
    for _ in ids[1:]:
        page.wait_for_function("window.heaters.ready()")
        press(page, "x")
    page.wait_for_function("window.heaters.state().clip === null")
    assert page.inner_text("#frame-now") == "–" and page.inner_text("#frame-total") == "–"
    assert page.is_disabled('#actions button[data-action="approve"]')
    assert page.is_hidden(".transport")
    page.screenshot(path=str(ARTIFACTS / "review-empty.png"))


def test_defect9_dashboard_counts_skipped_apart_and_reviews_that_video(
    server, browser, runtime, video_id, reviewers, bikes_proxy
):
    other = add_video(runtime, bikes_proxy, title="Second camera")
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page)
    wait_ready(page, ids[0])
    press(page, "s")
    wait_ready(page, ids[1])
    press(page, "a")
    page.goto("/")
    row = page.locator(f'tr[data-video-id="{video_id}"]')
    row.wait_for()
    assert "1/6 reviewed" in row.inner_text() and "1 skipped" in row.inner_text()
    link = row.locator("a.button", has_text="Review")
    assert link.get_attribute("href") == f"/review?video={video_id}"
    other_row = page.locator(f'tr[data-video-id="{other}"]')
    other_row.locator("a.button", has_text="Review").click()
    page.wait_for_function("window.heaters && window.heaters.state().clip")
    assert shown(page)["video_id"] == other
    press(page, "a")
    assert shown(page)["video_id"] == other
