import hashlib
import json
from fractions import Fraction

import pytest

from heaters.domain.errors import BadInput
from heaters.domain.manifest import ExportedClip, manifest_jsonl, manifest_record
from heaters.domain.storage_keys import clip_key

DATA = b"pretend mp4 bytes"


def exported(clip_id=7, start=30, end=76, fps=Fraction(30000, 1001), **extra) -> ExportedClip:
    fields = dict(
        video_id=3,
        source_url="https://example.org/watch?v=abc",
        source_title="Bikes — sample",
        clip_id=clip_id,
        start_frame=start,
        end_frame=end,
        fps=fps,
        storage_key=f"clips/3/{clip_id}_{start:08d}-{end:08d}.mp4",
        sha256=hashlib.sha256(DATA).hexdigest(),
        size_bytes=len(DATA),
        group=2,
        reviewer="alice",
        exported_at="2026-01-02T03:04:05Z",
    )
    fields.update(extra)
    return ExportedClip(**fields)


def test_record_has_every_field_a_dataset_needs():
    record = manifest_record(exported())
    assert record["storage_key"] == clip_key(3, 7, 30, 76)
    assert record == {
        "manifest_version": 1,
        "video_id": 3,
        "source_url": "https://example.org/watch?v=abc",
        "source_title": "Bikes — sample",
        "clip_id": 7,
        "start_frame": 30,
        "end_frame": 76,
        "frame_count": 46,
        "fps": "30000/1001",
        "fps_float": 29.97003,
        "start_seconds": 1.001,
        "end_seconds": 2.535867,
        "duration_seconds": 1.534867,
        "group": 2,
        "reviewer": "alice",
        "storage_key": "clips/3/7_00000030-00000076.mp4",
        "sha256": hashlib.sha256(DATA).hexdigest(),
        "size_bytes": len(DATA),
        "exported_at": "2026-01-02T03:04:05Z",
    }


def test_times_follow_the_exact_frame_rate():
    record = manifest_record(exported(start=0, end=25, fps=Fraction(25)))
    assert (record["start_seconds"], record["end_seconds"], record["duration_seconds"]) == (0.0, 1.0, 1.0)
    assert record["fps"] == "25/1"


def test_jsonl_is_one_object_per_line_in_timeline_order():
    text = manifest_jsonl([exported(clip_id=9, start=100, end=130), exported(clip_id=7, start=30, end=76)])
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["clip_id"] for r in records] == [7, 9]
    assert "Bikes — sample" in text  # readable UTF-8, not \u escapes
    assert manifest_jsonl([]) == ""


def test_optional_fields_may_be_missing():
    record = manifest_record(exported(group=None, reviewer=None, source_url=None, source_title=None))
    assert record["group"] is None and record["reviewer"] is None and record["source_url"] is None


@pytest.mark.parametrize(
    "bad",
    [
        dict(start=10, end=10),
        dict(start=-1, end=5),
        dict(fps=Fraction(0)),
        dict(sha256="abc"),
        dict(sha256=hashlib.sha256(DATA).hexdigest().upper()),
    ],
)
def test_impossible_facts_are_refused(bad):
    with pytest.raises(BadInput):
        manifest_record(exported(**bad))
