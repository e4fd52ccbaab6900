from heaters.domain.redact import redact

PRESIGNED = (
    "http://127.0.0.1:9000/bucket/lib/originals/1/original.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0f1e2d"
)


def test_presigned_urls_keep_where_but_lose_the_signature_and_key_id():
    shown = redact(f"preprocess_failed: cannot open original {PRESIGNED}: Server returned 403 Forbidden")
    assert "http://127.0.0.1:9000/bucket/lib/originals/1/original.mp4" in shown
    assert "X-Amz" not in shown and "AKIA" not in shown and "0f1e2d" not in shown
    assert shown.endswith("403 Forbidden")


def test_a_query_glued_to_a_file_name_is_removed():
    # What the issue saw: Path(presigned URL).name in a message.
    shown = redact("cannot read original.mp4?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE/x")
    assert shown == "cannot read original.mp4?…"


def test_passwords_in_urls_key_ids_and_secret_parameters_are_masked():
    assert redact("postgresql://app:hunter2@db:5432/heaters down") == "postgresql://db:5432/heaters down"
    assert "AKIAIOSFODNN7EXAMPLE" not in redact("credentials AKIAIOSFODNN7EXAMPLE rejected")
    assert redact("login password=hunter2 failed") == "login password=[redacted] failed"


def test_plain_messages_are_unchanged():
    for text in (None, "", "HTTP 404 at https://example.com/x.mp4", "clip 3 is exported; undo refused"):
        assert redact(text) == text
