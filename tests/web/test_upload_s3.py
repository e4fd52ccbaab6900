"""Browser uploads into S3 (moto's server): a large file becomes a multipart upload as it arrives, and a
transfer cut off by the size limit leaves no parts behind."""

from __future__ import annotations

import os
import uuid

import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from heaters.adapters.db.models import SourceVideo
from heaters.adapters.storage import S3Storage
from heaters.runtime import Runtime
from heaters.web.app import create_app
from tests.web.conftest import sign_in

MIB = 1024 * 1024


@pytest.fixture
def s3_runtime(runtime, reviewers, monkeypatch, tmp_path):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    storage = S3Storage(f"uploads-{uuid.uuid4().hex[:8]}", endpoint_url=f"http://{host}:{port}")
    storage.ensure_bucket()
    yield Runtime(runtime.settings, runtime.database, storage, runtime.queue)
    server.stop()


def multipart(boundary: str, csrf: str, filename: str, data: bytes) -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )


def chunked(body: bytes):
    for start in range(0, len(body), MIB):
        yield body[start : start + MIB]


def test_large_upload_streams_into_s3_as_multipart_and_a_cut_off_one_leaves_no_parts(s3_runtime, bikes_proxy):
    storage = s3_runtime.storage
    with TestClient(create_app(s3_runtime), follow_redirects=False) as client:
        csrf = sign_in(client, "ana")
        data = bikes_proxy.read_bytes() + os.urandom(17 * MIB)  # a real MP4 head; 3 parts of 8 MiB
        headers = {"Content-Type": "multipart/form-data; boundary=b0undary", "Accept": "application/json"}
        # Chunked, without Content-Length: the server only learns the size as the bytes arrive.
        answer = client.post(
            "/videos/upload", content=chunked(multipart("b0undary", csrf, "big.mp4", data)), headers=headers
        )
        assert answer.status_code == 200, answer.text
        video_id = answer.json()["video_id"]
        with s3_runtime.database.sessions() as session:
            key = session.get(SourceVideo, video_id).original_key
        assert storage.read_bytes(key) == data
        etag = storage.client.head_object(Bucket=storage.bucket, Key=key)["ETag"]
        assert etag.strip('"').endswith("-3")  # completed as a three-part multipart upload

        s3_runtime.settings.max_upload_bytes = 12 * MIB  # crossed after the first part was sent
        other = bikes_proxy.read_bytes()[:-1] + os.urandom(17 * MIB)
        refused = client.post(
            "/videos/upload", content=chunked(multipart("b0undary", csrf, "b.mp4", other)), headers=headers
        )
        assert refused.status_code == 413
    assert storage.unfinished_uploads() == []
    assert list(storage.list("")) == [key]
