# ruff: noqa: F811  (the browser fixtures are imported by name)
"""The review page's new keys and modes in a real browser: seeking, splitting into several pieces without
the mouse, the zoomed timeline and the frame preview while dragging a cut, the history panel, cut review.
Screenshots of each mode land in test-artifacts/ (copied to docs/screenshots/)."""

from __future__ import annotations

import pytest

from heaters.adapters.db.uow import transaction
from heaters.domain.shots import Boundary
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
    wait_playing,
)

pytestmark = pytest.mark.browser


def ids_of(runtime, video_id):
    return [c.id for c in review.video_timeline(runtime, video_id)]


def frame_is(page, frame):
    page.wait_for_function("f => !window.heaters.video.seeking && window.heaters.currentFrame() === f", arg=frame)


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / name))


def record_boundaries(runtime, video_id, boundaries):
    """What shot detection stores, through the same gateway."""
    with transaction(runtime.database) as uow:
        kept = [Boundary(f, k, (f - 1, f), c) for f, k, c, s in boundaries if not s]
        uow.boundaries.record(video_id, kept, [Boundary(f, k, (f - 1, f), c) for f, k, c, s in boundaries if s])


def test_seeking_keys_and_the_scrub_bar(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{ids[1]}")  # [30, 76): 46 frames at 25 fps
    wait_playing(page, ids[1])
    pause_at(page, 0)
    for key, frame in (("End", 45), ("Home", 0), ("ArrowUp", 10), ("ArrowUp", 20), ("ArrowDown", 10), ("l", 35)):
        page.keyboard.press(key)
        frame_is(page, frame)
    page.keyboard.press("j")
    frame_is(page, 10)
    for key in ("3", "7"):
        page.keyboard.press(key)
    assert page.inner_text("#frame-now") == "37…"
    page.keyboard.press("Enter")
    frame_is(page, 37)
    page.eval_on_selector("#scrub", "el => { el.value = 12; el.dispatchEvent(new Event('input')); }")
    frame_is(page, 12)
    assert page.inner_text("#abs-frame") == "42"


def test_split_into_several_pieces_by_keyboard_the_playhead_stays(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{ids[2]}")  # [76, 137)
    wait_playing(page, ids[2])
    pause_at(page, 10)  # video frame 86
    press(page, "k")
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (86, 137)
    frame_is(page, 0)
    assert page.inner_text("#abs-frame") == "86"
    for frame in (10, 20):  # ↑ twice, each once the split's new piece is on screen
        press(page, "ArrowUp")
        frame_is(page, frame)
    press(page, "k")  # video frame 106
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (106, 137)
    frame_is(page, 0)
    assert [s[:2] for s in spans(runtime, video_id)][2:5] == [(76, 86), (86, 106), (106, 137)]
    # a nudge keeps the playhead too (on the same video frame while the clip still holds it)
    press(page, "Shift+ArrowLeft")
    assert [s[:2] for s in spans(runtime, video_id)][3:5] == [(86, 105), (105, 137)]
    frame_is(page, 1)


def test_zoomed_timeline_and_the_frame_under_a_dragged_cut(server, browser, runtime, bikes_proxy, reviewers):
    # a long video: 2,000 frames on a ~1,000-pixel timeline would be half a pixel per frame
    video_id = add_video(runtime, bikes_proxy, cuts=[30, 76, 137, 187, 242], frames=2000, title="Long video")
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{ids[1]}")
    wait_playing(page, ids[1])
    assert page.locator("#timeline.zoomed").count() == 1
    a = page.locator('.cut[data-frame="76"]').bounding_box()
    b = page.locator('.cut[data-frame="137"]').bounding_box()
    assert b["x"] - a["x"] >= 61 * 4 - 1  # at least 4 px per frame
    page.keyboard.press("z")
    assert page.locator("#timeline.zoomed").count() == 0
    assert "whole video" in page.inner_text("#zoom-label")
    page.keyboard.press("z")
    # drag the cut at 76 to frame 80: the frame under the cursor shows while dragging
    handle = page.locator('.cut[data-frame="76"]').bounding_box()
    per_frame = (b["x"] - a["x"]) / 61
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(handle["x"] + handle["width"] / 2 + 4 * per_frame, y, steps=6)
    page.wait_for_function("document.querySelector('#drag-preview img').naturalWidth > 0")
    assert page.is_visible("#drag-preview") and page.inner_text("#drag-preview-frame") == "frame 80"
    screenshot(page, "review-drag-preview.png")
    page.mouse.up()
    page.wait_for_function("window.heaters.pending() === 0")
    assert [s[:2] for s in spans(runtime, video_id)][1:3] == [(30, 80), (80, 137)]


def test_history_panel_undoes_a_chosen_entry_and_ctrl_z_the_latest(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page)
    for _ in range(3):
        press(page, "a")
    page.keyboard.press("h")
    page.wait_for_selector("#history-list li >> nth=2")
    entries = page.locator("#history-list li")
    assert entries.count() == 3 and f"approved clip {ids[0]}" in entries.nth(2).inner_text()
    screenshot(page, "review-history.png")
    entries.nth(2).locator("button").click()  # the oldest: approving the first clip
    page.wait_for_function("window.heaters.pending() === 0")
    assert [s for *_, s in spans(runtime, video_id)][:3] == ["pending_review", "review_approved", "review_approved"]
    page.wait_for_selector("#history-list li.undone")
    press(page, "Control+z")  # the latest still undoable: the third clip
    assert [s for *_, s in spans(runtime, video_id)][:3] == ["pending_review", "review_approved", "pending_review"]


def test_cut_review_walks_cuts_least_confident_first(server, browser, runtime, video_id, reviewers):
    record_boundaries(
        runtime,
        video_id,
        [
            (30, "cut", 0.92, False),
            (76, "dissolve", 0.55, False),
            (137, "cut", 0.61, False),
            (187, "cut", 0.97, False),
            (242, "fade", 0.8, False),
            (100, "cut", 0.41, True),  # a suggested cut, below the detector's threshold
        ],
    )
    page = new_page(browser, server)
    sign_in(page)
    page.wait_for_function("window.heaters.ready()")
    page.keyboard.press("c")
    page.wait_for_selector("#cut-review:not([hidden])")
    panel = page.locator("#cut-review")
    assert panel.get_attribute("data-frame") == "100" and "suggested cut" in page.inner_text("#cr-what")
    assert "0.41" in page.inner_text("#cr-what")
    page.wait_for_function(
        "document.querySelector('#cr-before').naturalWidth > 0 && document.querySelector('#cr-after').naturalWidth > 0"
    )
    assert "frame 99" in page.inner_text("#cr-before-label") and "frame 100" in page.inner_text("#cr-after-label")
    screenshot(page, "review-cut-review.png")
    press(page, "k")  # add the suggested cut
    page.wait_for_function("document.querySelector('#cut-review').dataset.frame === '76'")
    press(page, "m")  # remove the dissolve at 76 (merge)
    page.wait_for_function("document.querySelector('#cut-review').dataset.frame === '137'")
    press(page, "Enter")  # keep 137
    assert page.get_attribute("#cut-review", "data-frame") == "242"
    page.keyboard.press("c")
    assert page.is_hidden("#cut-review")
    assert [s[:2] for s in spans(runtime, video_id)] == [
        (0, 30),
        (30, 100),
        (100, 137),
        (137, 187),
        (187, 242),
        (242, 250),
    ]


DETECTED = [  # what shot detection stored for the sample video: cuts with their scores, and two near-misses
    (30, "cut", 0.92, False),
    (76, "dissolve", 0.55, False),
    (137, "cut", 0.61, False),
    (187, "cut", 0.97, False),
    (242, "fade", 0.8, False),
    (100, "cut", 0.41, True),
    (210, "cut", 0.35, True),
]


def cut_review_frame(page):
    return page.get_attribute("#cut-review", "data-frame")


def test_arrows_in_cut_review_walk_the_cuts_and_leave_the_player_alone(server, browser, runtime, video_id, reviewers):
    record_boundaries(runtime, video_id, DETECTED)
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{ids[1]}")  # [30, 76)
    wait_playing(page, ids[1])
    pause_at(page, 5)
    page.keyboard.press("c")
    page.wait_for_selector("#cut-review:not([hidden])")
    # least confident first: 210 (0.35), 100 (0.41), 76 (0.55), 137 (0.61), 242, 30, 187
    assert cut_review_frame(page) == "210"
    walked = []
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowLeft"):
        page.keyboard.press(key)
        walked.append(cut_review_frame(page))
    assert walked == ["100", "76", "137", "76", "100", "210", "210"]  # ← on the first stays there
    assert page.inner_text("#cr-index") == "1 of 7"
    frame_is(page, 5)  # the arrows walked the cuts, not the playhead
    assert page.inner_text("#abs-frame") == "35"
    page.keyboard.press("c")
    assert page.is_hidden("#cut-review")
    page.keyboard.press("ArrowRight")  # out of cut review the arrows step frames again
    frame_is(page, 6)


def test_backspace_and_escape_while_typing_a_frame_number(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{ids[1]}")  # [30, 76): 46 frames
    wait_playing(page, ids[1])
    pause_at(page, 4)
    for key in ("3", "7"):
        page.keyboard.press(key)
    assert page.inner_text("#frame-now") == "37…"
    page.keyboard.press("Backspace")  # the last digit goes
    assert page.inner_text("#frame-now") == "3…"
    page.keyboard.press("2")
    assert page.inner_text("#frame-now") == "32…"
    page.keyboard.press("Escape")  # the number is dropped; the playhead stays
    assert page.inner_text("#frame-now") == "4"
    page.keyboard.press("Enter")  # nothing typed: Enter goes nowhere
    frame_is(page, 4)
    for key in ("1", "5", "Backspace", "Backspace"):  # typed, then erased to nothing
        page.keyboard.press(key)
    assert page.inner_text("#frame-now") == "4"
    for key in ("2", "5", "Enter"):
        page.keyboard.press(key)
    frame_is(page, 25)
    assert page.inner_text("#abs-frame") == "55"


def test_suggested_cuts_show_on_the_timeline_apart_from_cuts(server, browser, runtime, video_id, reviewers):
    record_boundaries(runtime, video_id, DETECTED)
    page = new_page(browser, server)
    sign_in(page)
    page.wait_for_selector('.suggested-cut[data-frame="100"]')
    assert page.locator('.suggested-cut[data-frame="210"]').count() == 1
    assert page.locator(".suggested-cut").count() == 2
    # marked differently from the cuts, and not a cut: nothing to drag there
    assert page.locator('.cut[data-frame="100"]').count() == 0
    assert (
        page.locator('.cut[data-frame="76"]').count() == 1
        and page.locator('.suggested-cut[data-frame="76"]').count() == 0
    )
    assert "suggested cut at frame 100 (confidence 0.41)" in page.get_attribute(
        '.suggested-cut[data-frame="100"]', "title"
    )
    style = "el => { const s = getComputedStyle(el, '::before'); return [s.borderLeftStyle, s.backgroundColor]; }"
    assert page.eval_on_selector('.suggested-cut[data-frame="100"]', style)[0] == "dashed"
    assert page.eval_on_selector('.cut[data-frame="76"]', style)[0] != "dashed"
    screenshot(page, "review-suggested-cuts.png")
    # adding the suggestion in cut review makes it a cut: the marker becomes a cut handle
    page.wait_for_function("window.heaters.ready()")
    page.keyboard.press("c")
    page.wait_for_selector("#cut-review:not([hidden])")
    page.keyboard.press("ArrowRight")  # 210 first (least confident), then 100
    assert cut_review_frame(page) == "100"
    press(page, "k")
    page.wait_for_selector('.cut[data-frame="100"]')
    assert page.locator('.suggested-cut[data-frame="100"]').count() == 0
    assert page.locator('.suggested-cut[data-frame="210"]').count() == 1
    assert [s[:2] for s in spans(runtime, video_id)][2:4] == [(76, 100), (100, 137)]


def test_arrows_pressed_right_after_k_move_on_from_the_kept_playhead(server, browser, runtime, video_id, reviewers):
    ids = ids_of(runtime, video_id)
    page = new_page(browser, server)
    sign_in(page, target=f"/review/{ids[2]}")  # [76, 137)
    wait_playing(page, ids[2])
    pause_at(page, 10)  # video frame 86
    # K and ↑ ↑ in one go: the arrows arrive while the split is on its way and its new piece is not loaded yet
    page.eval_on_selector(
        "body",
        """body => { for (const key of ["k", "ArrowUp", "ArrowUp"])
                      body.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true })); }""",
    )
    page.wait_for_function("window.heaters.pending() === 0 && !window.heaters.navigationHeld()")
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (86, 137)
    frame_is(page, 20)  # both ↑ counted, from the kept frame (video frame 86)
    assert page.inner_text("#abs-frame") == "106"
    # the same with real key presses, as fast as the keyboard sends them
    page.wait_for_function("window.heaters.ready()")
    for key in ("k", "ArrowUp", "ArrowUp", "ArrowUp", "ArrowDown"):
        page.keyboard.press(key)
    page.wait_for_function("window.heaters.pending() === 0 && !window.heaters.navigationHeld()")
    assert (shown(page)["start_frame"], shown(page)["end_frame"]) == (106, 137)
    frame_is(page, 20)  # 0 + 10 + 10 + 10 - 10, each from the kept frame
    assert [s[:2] for s in spans(runtime, video_id)][2:5] == [(76, 86), (86, 106), (106, 137)]
