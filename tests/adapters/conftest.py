"""Fixtures for adapter tests: a real S3 API server (moto's server mode) on 127.0.0.1 and storage
backends over it and over a temporary directory."""

from __future__ import annotations

import uuid

import pytest
from moto.server import ThreadedMotoServer

from heaters.adapters.storage import LocalStorage, S3Storage


@pytest.fixture(scope="session")
def moto_endpoint():
    """URL of a moto S3 server on a free port of 127.0.0.1, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def fake_aws_credentials(monkeypatch, tmp_path):
    """Fake credentials only: never let boto3 find a real profile, token or instance role."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3_bucket_name() -> str:
    """A fresh bucket per test, so tests sharing the one server never see each other's objects."""
    return f"heaters-test-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def s3_storage(moto_endpoint, fake_aws_credentials, s3_bucket_name) -> S3Storage:
    storage = S3Storage(s3_bucket_name, endpoint_url=moto_endpoint, region="us-east-1", prefix="tenant-a")
    storage.ensure_bucket()
    return storage


@pytest.fixture
def local_storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture(params=["local", "s3"])
def storage(request):
    """Each test using it runs once per backend."""
    return request.getfixturevalue(f"{request.param}_storage")
