"""Log lines: timestamps and levels, structured fields, JSON lines on request, secrets redacted."""

from __future__ import annotations

import json
import logging
import re

from heaters.logging_setup import JsonFormatter, TextFormatter

URL = "http://s3.local/b/proxies/1/proxy.mp4?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE&X-Amz-Signature=abc"


def record(message: str, *args, **extra) -> logging.LogRecord:
    made = logging.getLogger("heaters.pipeline.runner").makeRecord(
        "heaters.pipeline.runner", logging.INFO, __file__, 1, message, args, None, extra=extra
    )
    return made


def test_text_lines_have_time_level_logger_fields_and_no_secrets():
    line = TextFormatter().format(record("preprocess of video %s done in %.2f s", 7, 1.5, stage="preprocess"))
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO    heaters\.pipeline\.runner: "
        r"preprocess of video 7 done in 1\.50 s stage=preprocess",
        line,
    )
    assert "X-Amz" not in TextFormatter().format(record("cannot open %s", URL))


def test_json_lines_carry_the_fields_as_keys():
    entry = json.loads(JsonFormatter().format(record("failed: %s", URL, stage="export", duration_s=0.25)))
    assert entry["level"] == "INFO" and entry["logger"] == "heaters.pipeline.runner"
    assert entry["stage"] == "export" and entry["duration_s"] == 0.25 and entry["time"].endswith("Z")
    assert "AKIA" not in entry["message"] and "X-Amz" not in entry["message"]
