"""Both storage backends against the same contract: local filesystem under tmp_path, and S3 through a
real S3 API server (moto's server mode on 127.0.0.1)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import av
import httpx
import numpy as np
import pytest

from heaters.adapters.storage import LocalStorage, S3Storage, storage_from_settings
from heaters.config import Settings
from heaters.domain import storage_keys as keys
from heaters.domain.errors import BadInput, NotFound, Refused

PAYLOAD = bytes(range(256)) * 40  # 10 240 bytes, every offset distinguishable


class FailingReader:
    """A source that delivers `good_bytes` and then fails, like a dropped upload connection."""

    def __init__(self, good_bytes: int):
        self.remaining = good_bytes

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            raise OSError("connection reset while reading the upload")
        n = self.remaining if size is None or size < 0 else min(size, self.remaining)
        self.remaining -= n
        return b"x" * n


def stray_files(storage) -> list[str]:
    """Every file under a local root, hidden temp files included (empty for S3)."""
    if not isinstance(storage, LocalStorage):
        return []
    return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file())


def pending_uploads(storage) -> list:
    if not isinstance(storage, S3Storage):
        return []
    return storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])


# --- writes and reads


def test_put_bytes_then_read_back_and_overwrite(storage):
    key = keys.manifest_key(7)
    storage.put_bytes(key, b'{"clip": 1}\n')
    assert storage.read_bytes(key) == b'{"clip": 1}\n'
    storage.put_bytes(key, b'{"clip": 2}\n')
    with storage.open(key) as stream:
        assert stream.read() == b'{"clip": 2}\n'
    assert storage.size(key) == len(b'{"clip": 2}\n')


def test_put_file_large_enough_for_multipart_round_trips(storage, tmp_path):
    # 9 MiB: above boto3's 8 MiB multipart threshold, so the S3 path exercises a multipart upload.
    data = np.random.default_rng(1).integers(0, 256, 9 * 1024 * 1024, dtype=np.uint8).tobytes()
    source = tmp_path / "proxy.mp4"
    source.write_bytes(data)
    key = keys.proxy_key(3)
    storage.put_file(key, source)
    assert storage.size(key) == len(data)
    assert storage.read_bytes(key) == data
    copy = storage.download_to(key, tmp_path / "out" / "copy.mp4")
    assert copy.read_bytes() == data
    assert [p.name for p in copy.parent.iterdir()] == ["copy.mp4"]


@pytest.mark.parametrize("good_bytes", [1000, 9 * 1024 * 1024], ids=["single-put", "multipart"])
def test_failed_write_leaves_nothing_and_keeps_previous_object(storage, good_bytes):
    key = keys.original_key(5, "mp4")
    with pytest.raises(OSError, match="connection reset"):
        storage.put_stream(key, FailingReader(good_bytes))
    assert not storage.exists(key)
    assert list(storage.list("")) == []
    assert stray_files(storage) == []
    assert pending_uploads(storage) == []

    storage.put_bytes(key, b"complete original")
    with pytest.raises(OSError, match="connection reset"):
        storage.put_stream(key, FailingReader(good_bytes))
    assert storage.read_bytes(key) == b"complete original"
    assert list(storage.list("")) == [key]
    assert stray_files(storage) in ([], [key])


def test_put_stream_stores_everything_read(storage):
    import io

    storage.put_stream(keys.original_key(9, ".MKV"), io.BytesIO(PAYLOAD))
    assert storage.read_bytes("originals/9/original.mkv") == PAYLOAD


def test_open_writer_streams_an_object_in_as_it_arrives(storage):
    big = os.urandom(19 * 1024 * 1024)  # three S3 parts: two full ones and a short last one
    key = keys.original_key(5, "mp4")
    with storage.open_writer(key, content_type="video/mp4") as writer:
        for start in range(0, len(big), 3 * 1024 * 1024 + 17):
            writer.write(big[start : start + 3 * 1024 * 1024 + 17])
        assert not storage.exists(key)  # nothing visible before commit
        writer.commit()
    assert storage.read_bytes(key) == big
    small = keys.original_key(6, "mp4")
    with storage.open_writer(small) as writer:
        writer.write(PAYLOAD)
        writer.commit()
    assert storage.read_bytes(small) == PAYLOAD
    assert pending_uploads(storage) == []
    assert stray_files(storage) in ([], sorted([key, small]))  # no temp file left beside them


def test_an_aborted_writer_leaves_nothing_not_even_parts(storage):
    key = keys.original_key(5, "mp4")
    storage.put_bytes(key, b"previous")
    with pytest.raises(OSError, match="client went away"):
        with storage.open_writer(key) as writer:
            writer.write(os.urandom(9 * 1024 * 1024))  # a multipart upload is under way on S3
            raise OSError("client went away")
    assert storage.read_bytes(key) == b"previous"
    assert pending_uploads(storage) == []
    assert stray_files(storage) in ([], [key])


def test_a_new_write_aborts_the_unfinished_upload_a_killed_writer_left(s3_storage):
    key = keys.master_key(3)
    name = s3_storage.prefix + key
    s3_storage.client.create_multipart_upload(Bucket=s3_storage.bucket, Key=name)  # the dead attempt's
    s3_storage.client.create_multipart_upload(Bucket=s3_storage.bucket, Key=name + "x")  # another key's
    assert sorted(s3_storage.unfinished_uploads()) == [key, key + "x"]
    with s3_storage.open_writer(key) as writer:
        writer.write(b"retry")
        writer.commit()
    assert s3_storage.unfinished_uploads() == [key + "x"]


def test_media_output_takes_a_muxer_that_seeks_back_into_its_head(storage, tmp_path):
    """What a Matroska/MP4 muxer does: write front to back, then go back and patch its first bytes. S3
    streams the parts as they fill (nothing in scratch); local writes in place; both atomic."""
    body = os.urandom(27 * 1024 * 1024)  # head + two full parts + a short last one on S3
    key = keys.master_key(8)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with storage.media_output(key, scratch, content_type="video/x-matroska") as out:
        stream = open(out, "wb") if isinstance(out, Path) else out  # noqa: SIM115 — closed below
        for start in range(0, len(body), 1_000_003):
            stream.write(body[start : start + 1_000_003])
        end = stream.tell()
        stream.seek(4)
        stream.write(b"SIZE")  # the muxer fills in a size in its header
        stream.seek(5 * 1024 * 1024 - 2)
        stream.write(b"DURATION")  # across a 1-MB boundary, still in the head
        assert stream.seek(0, os.SEEK_END) == end == len(body)
        if isinstance(out, Path):
            stream.close()
        assert not storage.exists(key)
        assert list(scratch.iterdir()) == [] or isinstance(out, Path)  # S3: nothing lands in scratch
    expected = bytearray(body)
    expected[4:8] = b"SIZE"
    expected[5 * 1024 * 1024 - 2 : 5 * 1024 * 1024 + 6] = b"DURATION"
    assert storage.read_bytes(key) == bytes(expected)
    assert pending_uploads(storage) == []
    assert stray_files(storage) in ([], [key])


def test_s3_media_output_refuses_a_write_into_a_part_already_uploaded_and_leaves_nothing(s3_storage, tmp_path):
    key = keys.proxy_key(8)
    s3_storage.put_bytes(key, b"previous")
    with pytest.raises(OSError, match="already uploaded"):
        with s3_storage.media_output(key, tmp_path) as out:
            out.write(os.urandom(20 * 1024 * 1024))
            out.seek(9 * 1024 * 1024)  # inside the first tail part, uploaded by now
            out.write(b"late")
    assert s3_storage.read_bytes(key) == b"previous"
    assert pending_uploads(s3_storage) == []


def test_open_ranged_reads_what_is_asked_wherever_it_is(storage):
    body = os.urandom(9 * 1024 * 1024 + 123)  # three 4-MB blocks on S3, the last one short
    key = keys.original_key(4, "mp4")
    storage.put_bytes(key, body)
    with storage.open_ranged(key) as reader:
        assert reader.seekable()
        assert reader.read(10) == body[:10]
        reader.seek(len(body) - 50)
        assert reader.read(100) == body[-50:]  # a short read at the end, then nothing
        assert reader.read(10) == b""
        reader.seek(4 * 1024 * 1024 - 5)
        got = b""
        while len(got) < 20:  # a read may stop at a block boundary: read until served
            got += reader.read(20 - len(got))
        assert got == body[4 * 1024 * 1024 - 5 : 4 * 1024 * 1024 + 15]
        reader.seek(-3, os.SEEK_END)
        assert reader.read() == body[-3:]


def test_a_decoder_reads_a_stored_original_by_ranges(storage, tmp_path):
    from heaters.adapters.media.inputs import StoredOriginal, open_media

    key = keys.original_key(12, "mp4")
    storage.put_file(key, _tiny_mp4(tmp_path / "tiny.mp4"), content_type="video/mp4")
    original = StoredOriginal("original.mp4", storage.size(key), lambda: storage.open_ranged(key))
    with open_media(original, "original") as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == 12


def test_browser_urls_are_signed_for_the_public_endpoint(moto_endpoint, fake_aws_credentials, s3_bucket_name):
    public = moto_endpoint.replace("127.0.0.1", "localhost")
    storage = S3Storage(s3_bucket_name, endpoint_url=moto_endpoint, public_endpoint_url=public)
    storage.ensure_bucket()
    key = keys.clip_key(1, 2, 0, 10)
    storage.put_bytes(key, PAYLOAD)
    assert storage.url(key).startswith(moto_endpoint + "/")  # servers and FFmpeg: the internal address
    browser = storage.browser_url(key)
    assert browser.startswith(public + "/")
    answer = httpx.get(browser, headers={"Range": "bytes=0-9"})  # the signature is valid at that address
    assert answer.status_code == 206 and answer.content == PAYLOAD[:10]


def test_put_file_of_missing_source_is_not_found_and_stores_nothing(storage, tmp_path):
    with pytest.raises(NotFound):
        storage.put_file(keys.master_key(1), tmp_path / "missing.mkv")
    assert not storage.exists(keys.master_key(1))


def test_read_range_has_http_semantics(storage):
    key = keys.proxy_key(1)
    storage.put_bytes(key, PAYLOAD)
    assert storage.read_range(key, 0, 0) == PAYLOAD[:1]
    assert storage.read_range(key, 300, 1299) == PAYLOAD[300:1300]
    assert storage.read_range(key, len(PAYLOAD) - 10, len(PAYLOAD) + 500) == PAYLOAD[-10:]  # end clipped
    with pytest.raises(BadInput):
        storage.read_range(key, len(PAYLOAD), len(PAYLOAD) + 10)
    with pytest.raises(BadInput):
        storage.read_range(key, 10, 9)
    with pytest.raises(BadInput):
        storage.read_range(key, -1, 9)


def test_missing_objects_raise_not_found(storage, tmp_path):
    key = keys.proxy_key(404)
    assert not storage.exists(key)
    for call in (
        lambda: storage.open(key),
        lambda: storage.read_bytes(key),
        lambda: storage.read_range(key, 0, 10),
        lambda: storage.size(key),
        lambda: storage.download_to(key, tmp_path / "x"),
    ):
        with pytest.raises(NotFound):
            call()
    assert not (tmp_path / "x").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_exists_delete_and_list(storage):
    written = [
        keys.clip_key(1, 10, 0, 48),
        keys.clip_key(1, 11, 48, 120),
        keys.clip_key(12, 30, 0, 24),
        keys.keyframe_key(10, 25),
        keys.proxy_key(1),
    ]
    for key in written:
        storage.put_bytes(key, key.encode())
    assert all(storage.exists(key) for key in written)
    assert list(storage.list("")) == sorted(written)
    assert list(storage.list("clips/1/")) == [keys.clip_key(1, 10, 0, 48), keys.clip_key(1, 11, 48, 120)]
    # A prefix is a string prefix, as in S3: "clips/1" also matches "clips/12/…".
    assert list(storage.list("clips/1")) == sorted(written[:3])
    assert list(storage.list("keyframes/")) == ["keyframes/10/025.jpg"]
    assert list(storage.list("nothing/")) == []

    storage.delete(written[0])
    storage.delete(written[0])  # idempotent: a retried cleanup is harmless
    assert not storage.exists(written[0])
    assert storage.exists(written[1])
    assert list(storage.list("clips/1/")) == [written[1]]


def test_storage_class_is_recorded_on_s3_and_ignored_locally(storage, tmp_path):
    source = tmp_path / "master.mkv"
    source.write_bytes(PAYLOAD)
    key = keys.master_key(2)
    storage.put_file(key, source, storage_class="GLACIER")
    storage.put_bytes(keys.proxy_key(2), PAYLOAD)
    if isinstance(storage, S3Storage):
        head = storage.client.head_object(Bucket=storage.bucket, Key=f"tenant-a/{key}")
        assert head["StorageClass"] == "GLACIER"
        assert storage.storage_class(key) == "GLACIER"
        assert storage.storage_class(keys.proxy_key(2)) == "STANDARD"
        # An archived master cannot be read without a restore: said clearly, not a raw ClientError.
        with pytest.raises(Refused, match="restore"):
            storage.read_bytes(key)
    else:
        assert storage.read_bytes(key) == PAYLOAD
    assert storage.size(key) == len(PAYLOAD)


def test_content_type_is_recorded_on_s3(s3_storage):
    s3_storage.put_bytes(keys.proxy_key(1), b"...")
    s3_storage.put_bytes(keys.manifest_key(1), b"{}\n", content_type="application/x-ndjson")
    head = s3_storage.client.head_object
    assert head(Bucket=s3_storage.bucket, Key="tenant-a/proxies/1/proxy.mp4")["ContentType"] == "video/mp4"
    manifest = head(Bucket=s3_storage.bucket, Key="tenant-a/manifests/1/manifest.jsonl")
    assert manifest["ContentType"] == "application/x-ndjson"


def test_s3_prefix_is_applied_in_the_bucket_and_hidden_from_keys(s3_storage):
    s3_storage.put_bytes(keys.proxy_key(4), b"p")
    raw = s3_storage.client.list_objects_v2(Bucket=s3_storage.bucket)["Contents"]
    assert [item["Key"] for item in raw] == ["tenant-a/proxies/4/proxy.mp4"]
    assert list(s3_storage.list("")) == ["proxies/4/proxy.mp4"]


# --- URLs


def test_presigned_url_serves_byte_ranges(s3_storage):
    key = keys.proxy_key(8)
    s3_storage.put_bytes(key, PAYLOAD)
    url = s3_storage.url(key, expires=120)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
    response = httpx.get(url, headers={"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.content == PAYLOAD[1000:2000]
    assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(PAYLOAD)}"
    assert s3_storage.local_path(key) is None
    assert s3_storage.media_input(key).startswith("http://127.0.0.1:")


def test_local_url_is_a_file_url_of_the_real_path(local_storage):
    key = keys.proxy_key(8)
    local_storage.put_bytes(key, PAYLOAD)
    url = local_storage.url(key)
    assert url.startswith("file://")
    path = Path(url2pathname(urlparse(url).path))
    assert path == local_storage.local_path(key) == local_storage.root / key
    assert path.read_bytes() == PAYLOAD
    assert local_storage.media_input(key) == str(path)


def _tiny_mp4(path: Path, frames: int = 12) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), i * 20, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_ffmpeg_reads_media_through_media_input(storage, tmp_path):
    key = keys.proxy_key(11)
    storage.put_file(key, _tiny_mp4(tmp_path / "tiny.mp4"), content_type="video/mp4")
    with av.open(storage.media_input(key, expires=60)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == 12


# --- key safety


BAD_KEYS = ["../x", "/etc/passwd", "a/../../b", "", "a//b", "a/./b", "a\\..\\b", "a\x00b", ".tmp-x", "dir/"]


@pytest.mark.parametrize("bad_key", BAD_KEYS)
def test_unsafe_keys_are_refused_by_every_operation(storage, bad_key, tmp_path):
    source = tmp_path / "src"
    source.write_bytes(b"data")
    calls = [
        lambda: storage.put_bytes(bad_key, b"data"),
        lambda: storage.put_file(bad_key, source),
        lambda: storage.open(bad_key),
        lambda: storage.read_range(bad_key, 0, 1),
        lambda: storage.size(bad_key),
        lambda: storage.url(bad_key),
        lambda: storage.local_path(bad_key),
        lambda: storage.exists(bad_key),
        lambda: storage.delete(bad_key),
        lambda: storage.download_to(bad_key, tmp_path / "out"),
    ]
    for call in calls:
        with pytest.raises(BadInput):
            call()
    assert list(storage.list("")) == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad_prefix", ["../", "/etc/", "a/../../", "a//"])
def test_unsafe_list_prefixes_are_refused(storage, bad_prefix):
    with pytest.raises(BadInput):
        storage.list(bad_prefix)


def test_path_traversal_does_not_write_outside_the_root(local_storage, tmp_path):
    for bad in ("../escaped", "a/../../escaped", str(tmp_path / "escaped")):
        with pytest.raises(BadInput):
            local_storage.put_bytes(bad, b"x")
    assert not (tmp_path / "escaped").exists()


def test_symlinks_cannot_escape_the_local_root(local_storage, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    # A directory symlink and a file symlink planted inside the root, both pointing out of it.
    os.symlink(outside, local_storage.root / "clips")
    (local_storage.root / "proxies" / "1").mkdir(parents=True)
    os.symlink(outside / "secret.txt", local_storage.root / "proxies" / "1" / "proxy.mp4")

    with pytest.raises(BadInput):
        local_storage.put_bytes("clips/1/10_00000000-00000048.mp4", b"x")
    with pytest.raises(BadInput):
        local_storage.put_bytes("clips/new.mp4", b"x")
    with pytest.raises(BadInput):
        local_storage.open("clips/secret.txt")
    with pytest.raises(BadInput):
        local_storage.read_bytes(keys.proxy_key(1))
    with pytest.raises(BadInput):
        local_storage.local_path(keys.proxy_key(1))
    with pytest.raises(BadInput):
        local_storage.put_bytes(keys.proxy_key(1), b"overwrite through the link")
    with pytest.raises(BadInput):
        local_storage.delete(keys.proxy_key(1))
    assert list(local_storage.list("")) == []
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"secret"


def test_symlinks_inside_the_root_still_work(local_storage):
    local_storage.put_bytes("proxies/1/proxy.mp4", PAYLOAD)
    os.symlink(local_storage.root / "proxies" / "1", local_storage.root / "proxies" / "2")
    assert local_storage.read_range("proxies/2/proxy.mp4", 5, 9) == PAYLOAD[5:10]


# --- factory


def test_factory_defaults_to_local_storage_under_the_data_dir(tmp_path):
    storage = storage_from_settings(Settings(data_dir=tmp_path / "data"))
    assert isinstance(storage, LocalStorage)
    assert storage.root == (tmp_path / "data" / "storage").resolve()
    storage.put_bytes(keys.proxy_key(1), b"p")
    assert (tmp_path / "data" / "storage" / "proxies" / "1" / "proxy.mp4").read_bytes() == b"p"


def test_factory_builds_s3_storage_from_settings(tmp_path, moto_endpoint, fake_aws_credentials, s3_bucket_name):
    settings = Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=s3_bucket_name,
        s3_endpoint_url=moto_endpoint,
        s3_prefix="/prod/",
        presigned_url_seconds=90,
    )
    storage = storage_from_settings(settings)
    assert isinstance(storage, S3Storage) and storage.prefix == "prod/"
    storage.ensure_bucket()
    storage.put_bytes(keys.proxy_key(1), b"p")
    assert storage.read_bytes(keys.proxy_key(1)) == b"p"
    assert "X-Amz-Expires=90" in storage.url(keys.proxy_key(1))
    raw = storage.client.list_objects_v2(Bucket=s3_bucket_name)["Contents"]
    assert [item["Key"] for item in raw] == ["prod/proxies/1/proxy.mp4"]


def test_factory_s3_storage_archives_masters_by_default(tmp_path, moto_endpoint, fake_aws_credentials, s3_bucket_name):
    settings = Settings(
        data_dir=tmp_path, storage_backend="s3", s3_bucket=s3_bucket_name, s3_endpoint_url=moto_endpoint
    )
    storage = storage_from_settings(settings)
    storage.ensure_bucket()
    source = tmp_path / "master.mkv"
    source.write_bytes(PAYLOAD)
    storage.put_file(keys.master_key(1), source)
    storage.put_bytes(keys.proxy_key(1), PAYLOAD)
    storage.put_bytes(keys.master_key(2), PAYLOAD, storage_class="STANDARD_IA")  # explicit wins
    assert storage.storage_class(keys.master_key(1)) == "GLACIER"
    assert storage.storage_class(keys.proxy_key(1)) == "STANDARD"
    assert storage.storage_class(keys.master_key(2)) == "STANDARD_IA"

    settings = Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=s3_bucket_name,
        s3_endpoint_url=moto_endpoint,
        master_storage_class="",
    )
    storage_from_settings(settings).put_bytes(keys.master_key(3), PAYLOAD)
    assert storage.storage_class(keys.master_key(3)) == "STANDARD"


def test_ensure_bucket_outside_us_east_1(moto_endpoint, fake_aws_credentials, s3_bucket_name):
    storage = S3Storage(s3_bucket_name, endpoint_url=moto_endpoint, region="eu-west-1")
    storage.ensure_bucket()
    storage.ensure_bucket()  # idempotent
    storage.put_bytes(keys.proxy_key(1), b"p")
    assert storage.read_range(keys.proxy_key(1), 0, 0) == b"p"


def test_factory_refuses_s3_without_a_bucket(tmp_path):
    with pytest.raises(BadInput, match="bucket"):
        storage_from_settings(Settings(data_dir=tmp_path, storage_backend="s3"))
