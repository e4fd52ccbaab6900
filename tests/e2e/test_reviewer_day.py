# ruff: noqa: F811  (fixtures are imported by name)
"""A reviewer's whole day, by keyboard only, in a real browser against a real server: three videos reviewed to
an empty queue, with skips, a cut-review pass, a clip split into several pieces, nudges, a group across an
export (the real export stage runs, the manifest is rewritten) and undo walking back. The final timeline
and decisions must equal the script's expected ones."""

from __future__ import annotations

import json

import pytest

from heaters.adapters.db.uow import transaction
from heaters.domain.shots import Boundary
from heaters.domain.stages import EXPORT
from heaters.domain.storage_keys import manifest_key
from heaters.pipeline.runner import run_stage
from heaters.pipeline.stages import export
from heaters.services import review
from tests.web.conftest import add_video, bikes_proxy, reviewers  # noqa: F401
from tests.web.test_browser import browser, new_page, pause_at, press, server, shown, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

P, A, S, X, E = "pending_review", "review_approved", "review_skipped", "review_archived", "exported"


def timeline(runtime, video_id):
    return [(c.start, c.end, str(c.state)) for c in review.video_timeline(runtime, video_id)]


def on(page, start, end):
    """The page shows the clip [start, end) and its first frame is on screen."""
    page.wait_for_function(
        "([s, e]) => { const c = window.heaters.state().clip;"
        " return c && c.start_frame === s && c.end_frame === e && window.heaters.ready(); }",
        arg=[start, end],
    )


def keys(page, *sequence):
    for key in sequence:
        press(page, key)


def export_now(runtime, clip_id):
    """The export stage, as a worker runs it after the grace period."""
    outcome = run_stage(runtime, EXPORT, clip_id, lambda row, progress: export(runtime, row, progress))
    assert outcome.outcome == "done", outcome


def test_a_reviewers_day(server, browser, runtime, bikes_proxy, reviewers):
    v1 = add_video(runtime, bikes_proxy, title="Day one")
    v2 = add_video(runtime, bikes_proxy, title="Day two")
    v3 = add_video(runtime, bikes_proxy, title="Day three")
    with transaction(runtime.database) as uow:  # what shot detection recorded for the second video
        uow.boundaries.record(
            v2,
            [
                Boundary(30, "cut", (29, 30), 0.92),
                Boundary(76, "dissolve", (75, 76), 0.55),
                Boundary(137, "cut", (136, 137), 0.61),
                Boundary(187, "cut", (186, 187), 0.97),
                Boundary(242, "fade", (241, 242), 0.8),
            ],
            [Boundary(100, "cut", (99, 100), 0.41)],
        )
    page = new_page(browser, server)
    sign_in(page)

    # --- video 1: approve, export, group across the export, split in three, nudge, skip, archive, undo
    on(page, 0, 30)
    first = shown(page)["id"]
    keys(page, "a")
    export_now(runtime, first)
    on(page, 30, 76)
    keys(page, "g")  # joins the exported clip's group
    on(page, 76, 137)
    pause_at(page, 10)  # video frame 86
    keys(page, "k")
    on(page, 86, 137)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # video frame 106
    page.wait_for_function("window.heaters.currentFrame() === 20")
    keys(page, "k")
    on(page, 106, 137)
    keys(page, "Shift+ArrowRight", "Shift+ArrowRight")  # the cut at 106 → 108, twice the same cut
    on(page, 108, 137)
    keys(page, "a")
    on(page, 137, 187)
    keys(page, "s")
    on(page, 187, 242)
    keys(page, "x")
    on(page, 242, 250)
    keys(page, "a")
    on(page, 76, 86)  # the same video's earlier pieces before any other video
    keys(page, "a")
    on(page, 86, 108)
    keys(page, "x", "Control+z")  # archived by mistake: undo brings it back
    on(page, 86, 108)
    keys(page, "a")

    # --- video 2: a cut-review pass, then approve everything
    on(page, 0, 30)
    keys(page, "c")
    page.wait_for_function("document.querySelector('#cut-review').dataset.frame === '100'")
    keys(page, "k")  # add the suggested cut at 100
    page.wait_for_function("document.querySelector('#cut-review').dataset.frame === '76'")
    keys(page, "m")  # remove the doubtful dissolve at 76
    page.wait_for_function("document.querySelector('#cut-review').dataset.frame === '137'")
    keys(page, "Enter", "c")
    for start, end in ((30, 100), (100, 137), (137, 187), (187, 242), (242, 250), (0, 30)):
        on(page, start, end)
        keys(page, "a")

    # --- video 3: two approvals undone by walking back, then reviewed with one skip
    on(page, 0, 30)
    keys(page, "a")
    on(page, 30, 76)
    keys(page, "a", "Control+z", "Control+z")
    on(page, 0, 30)
    for start, end, key in ((0, 30, "a"), (30, 76, "a"), (76, 137, "s"), (137, 187, "a"), (187, 242, "a")):
        on(page, start, end)
        keys(page, key)
    on(page, 242, 250)
    keys(page, "a")

    # --- the skipped clips come back once: this video's first; skipped again it leaves the queue
    on(page, 76, 137)
    assert shown(page)["video_id"] == v3
    keys(page, "s")
    on(page, 137, 187)
    assert shown(page)["video_id"] == v1
    keys(page, "a")
    page.wait_for_function("window.heaters.state().clip === null")
    page.reload()
    page.wait_for_function("window.heaters && window.heaters.state().clip === null")

    assert timeline(runtime, v1) == [
        (0, 30, E),
        (30, 76, A),
        (76, 86, A),
        (86, 108, A),
        (108, 137, A),
        (137, 187, A),
        (187, 242, X),
        (242, 250, A),
    ]
    assert timeline(runtime, v2) == [
        (0, 30, A),
        (30, 100, A),
        (100, 137, A),
        (137, 187, A),
        (187, 242, A),
        (242, 250, A),
    ]
    assert timeline(runtime, v3) == [(0, 30, A), (30, 76, A), (76, 137, S), (137, 187, A), (187, 242, A), (242, 250, A)]
    clips = review.video_timeline(runtime, v1)
    assert clips[0].group_id == clips[1].group_id == first
    assert all(c.group_id is None for c in clips[2:])
    # the grouped clip's export rewrites the manifest: both clips, one group
    export_now(runtime, clips[1].id)
    manifest = [json.loads(line) for line in runtime.storage.read_bytes(manifest_key(v1)).decode().splitlines()]
    assert [(m["clip_id"], m["group"]) for m in manifest] == [(first, first), (clips[1].id, first)]
