"""Settings are checked at start: an impossible combination is refused with one clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from heaters.config import Settings, check_settings, settings_problems
from heaters.domain.errors import BadInput


def test_defaults_are_valid(tmp_path):
    assert settings_problems(Settings(data_dir=tmp_path)) == []


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"storage_backend": "s3"}, "HEATERS_S3_BUCKET"),
        (
            {"storage_backend": "s3", "s3_bucket": "b", "export_profile": "master_reencode"},
            "cannot be read without a restore",
        ),
        ({"s3_public_endpoint_url": "http://public"}, "not s3"),
        ({"worker_heartbeat_seconds": 5, "worker_stalled_seconds": 6}, "live workers are declared dead"),
        ({"keyframe_strategy": "every:3"}, "HEATERS_KEYFRAME_STRATEGY"),
        ({"log_level": "LOUD"}, "HEATERS_LOG_LEVEL"),
        ({"database_url": "mysql://x"}, "postgresql://"),
    ],
)
def test_impossible_combinations_are_named(tmp_path, overrides, words):
    problems = settings_problems(Settings(data_dir=tmp_path, **overrides))
    assert len(problems) == 1 and words in problems[0]


def test_master_reencode_is_fine_with_readable_masters(tmp_path):
    settings = Settings(
        data_dir=tmp_path, storage_backend="s3", s3_bucket="b", export_profile="master_reencode",
        master_storage_class="STANDARD_IA",
    )  # fmt: skip
    assert check_settings(settings) is settings


def test_every_problem_in_one_message(tmp_path):
    with pytest.raises(BadInput) as refused:
        check_settings(Settings(data_dir=tmp_path, storage_backend="s3", log_level="LOUD"))
    assert "HEATERS_S3_BUCKET" in str(refused.value) and "HEATERS_LOG_LEVEL" in str(refused.value)


def test_the_cli_refuses_before_anything_runs(tmp_path):
    env = {"HEATERS_DATA_DIR": str(tmp_path), "HEATERS_STORAGE_BACKEND": "s3", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "from heaters.cli import main; main()", "worker"],
        env={**env, **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "invalid settings" in output and "HEATERS_S3_BUCKET" in output
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "postgres").exists()  # refused before the embedded database was started
