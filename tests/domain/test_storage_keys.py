"""The key layout: deterministic keys under the documented prefixes, and validation that no key can
name anything outside the storage root."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heaters.domain import storage_keys as keys
from heaters.domain.errors import BadInput


def test_layout_matches_the_documented_keys():
    assert keys.original_key(7, "mp4") == "originals/7/original.mp4"
    assert keys.original_key(7, ".MKV") == "originals/7/original.mkv"
    assert keys.master_key(7) == "masters/7/master.mkv"
    assert keys.proxy_key(7) == "proxies/7/proxy.mp4"
    assert keys.features_key(7) == "features/7/features.npy"
    assert keys.clip_key(7, 31, 48, 120) == "clips/7/31_00000048-00000120.mp4"
    assert keys.keyframe_key(31, 25) == "keyframes/31/025.jpg"
    assert keys.keyframe_key(31, "f0012", "PNG") == "keyframes/31/f0012.png"
    assert keys.manifest_key(7) == "manifests/7/manifest.jsonl"
    assert keys.proxy_key("3f2a-uuid_like") == "proxies/3f2a-uuid_like/proxy.mp4"


def test_every_layout_key_is_valid_and_under_its_prefix():
    produced = {
        keys.ORIGINALS: keys.original_key(1, "webm"),
        keys.MASTERS: keys.master_key(1),
        keys.PROXIES: keys.proxy_key(1),
        keys.FEATURES: keys.features_key(1),
        keys.CLIPS: keys.clip_key(1, 2, 0, 1),
        keys.KEYFRAMES: keys.keyframe_key(2, 50),
        keys.MANIFESTS: keys.manifest_key(1),
        keys.CHUNKS: keys.chunk_key(1, 3, "proxy.mp4"),
    }
    assert keys.chunk_key(1, -1, "audio.mka") == "chunks/1/audio/audio.mka"
    assert set(produced) == set(keys.PREFIXES)
    for prefix, key in produced.items():
        assert keys.validate_key(key) == key
        assert key.startswith(prefix)


def test_keys_are_deterministic_and_a_resized_clip_gets_a_new_key():
    assert keys.clip_key(1, 2, 0, 48) == keys.clip_key(1, 2, 0, 48)
    assert keys.clip_key(1, 2, 0, 48) != keys.clip_key(1, 2, 0, 60)


def test_clip_keys_sort_in_timeline_order():
    ranges = [(0, 9), (9, 100), (100, 1500), (1500, 20000)]
    produced = [keys.clip_key(1, 5, a, b) for a, b in ranges]
    assert sorted(produced) == produced


@pytest.mark.parametrize(
    "call",
    [
        lambda: keys.proxy_key("../1"),
        lambda: keys.proxy_key("a/b"),
        lambda: keys.proxy_key(""),
        lambda: keys.proxy_key(-1),
        lambda: keys.proxy_key(True),
        lambda: keys.original_key(1, "mp4/../../x"),
        lambda: keys.original_key(1, ""),
        lambda: keys.clip_key(1, 2, 10, 10),
        lambda: keys.clip_key(1, 2, -1, 10),
        lambda: keys.clip_key(1, 2, 0.0, 10),
        lambda: keys.keyframe_key(1, "../x"),
        lambda: keys.keyframe_key(1, -5),
    ],
)
def test_bad_parts_are_refused(call):
    with pytest.raises(BadInput):
        call()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/etc/passwd",
        "../x",
        "a/../../b",
        "a/..",
        "./a",
        "a//b",
        "a/",
        "a\\b",
        "a\x00b",
        "a\nb",
        ".hidden",
        "C:/x",
        "a b",
        "é",
        "x" * 901,
    ],
)
def test_validate_key_refuses_unsafe_keys(bad):
    with pytest.raises(BadInput):
        keys.validate_key(bad)


def test_validate_key_accepts_plain_keys():
    for good in ("a", "a/b.c", "clips/1/2_00000000-00000010.mp4", "a/b..c", "x-y_z/1.tar.gz"):
        assert keys.validate_key(good) == good


@given(st.text(alphabet=st.sampled_from("ab./\\-_\x00:"), max_size=20))
def test_any_accepted_key_stays_inside_its_root(candidate):
    try:
        keys.validate_key(candidate)
    except BadInput:
        return
    assert not candidate.startswith("/")
    assert posixpath.normpath(candidate) == candidate
    assert ".." not in candidate.split("/")
    assert not posixpath.normpath(posixpath.join("/root", candidate)).startswith("/root/..")


def test_list_prefixes():
    assert keys.validate_prefix("") == ""
    assert keys.validate_prefix("clips/1/") == "clips/1/"
    assert keys.validate_prefix("clips/1") == "clips/1"
    for bad in ("/", "../", "a//", "/clips/"):
        with pytest.raises(BadInput):
            keys.validate_prefix(bad)
