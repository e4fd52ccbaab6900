"""Pure rules about ingest inputs: classification, URL validation and normalisation, the address
policy, and container sniffing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heaters.domain.errors import BadInput
from heaters.domain.sources import (
    AddressPolicy,
    SourceKind,
    classify_source,
    is_public_address,
    normalize_url,
    parse_http_url,
    safe_filename,
    sniff_container,
    upload_extension,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("https://www.youtube.com/watch?v=abc", SourceKind.URL),
        ("  http://example.com/a.mp4 ", SourceKind.URL),
        ("file:///etc/passwd", SourceKind.URL),  # a URL, refused later for its scheme
        ("/videos/a.mp4", SourceKind.PATH),
        ("relative/a.mp4", SourceKind.PATH),
        ("C:\\videos\\a.mp4", SourceKind.PATH),
        ("weird:name.mp4", SourceKind.PATH),
    ],
)
def test_classify_source(text, kind):
    assert classify_source(text) is kind


def test_parse_http_url():
    url = parse_http_url(" https://Example.COM:8443/v.mp4?x=1 ")
    assert (url.scheme, url.host, url.port, url.url) == (
        "https",
        "example.com",
        8443,
        "https://Example.COM:8443/v.mp4?x=1",
    )
    assert parse_http_url("http://[::1]/x").host == "::1"
    assert parse_http_url("http://example.com/x").port == 80


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://example.com/x.mp4", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("http:///nohost", "has no host"),
        ("http://example.com:99999/x", "not a valid URL"),
        ("http://exa mple.com/x", "white space"),
    ],
)
def test_parse_http_url_refusals(text, message):
    with pytest.raises(BadInput, match=message):
        parse_http_url(text)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HTTP://Example.com:80/v.mp4#t=10", "http://example.com/v.mp4"),
        ("https://example.com/v.mp4?b=2&a=1&utm_source=x", "https://example.com/v.mp4?a=1&b=2"),
        ("https://youtu.be/dQw4w9WgXcQ?si=abc", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("https://m.youtube.com/watch?v=dQw4w9WgXcQ&feature=share", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("https://example.com", "https://example.com/"),
    ],
)
def test_normalize_url_identifies_the_same_source(a, b):
    assert normalize_url(a) == normalize_url(b)


def test_normalize_url_keeps_what_identifies_a_video():
    assert normalize_url("https://example.com/v.mp4?id=1") != normalize_url("https://example.com/v.mp4?id=2")
    assert normalize_url("https://example.com:8443/v") != normalize_url("https://example.com/v")
    assert normalize_url("https://example.com/A.mp4") != normalize_url("https://example.com/a.mp4")


@given(st.sampled_from(["http", "https"]), st.from_regex(r"[a-z]{1,10}\.(com|org)", fullmatch=True),
       st.from_regex(r"(/[a-z0-9]{0,6}){0,3}", fullmatch=True))  # fmt: skip
def test_normalize_url_is_idempotent(scheme, host, path):
    once = normalize_url(f"{scheme}://{host}{path}")
    assert normalize_url(once) == once


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.8.8", "169.254.169.254", "0.0.0.0",
     "224.0.0.1", "240.0.0.1", "100.64.0.1", "::1", "fe80::1", "fc00::1", "::", "::ffff:127.0.0.1",
     "ff02::1", "fe80::1%eth0"],
)  # fmt: skip
def test_non_public_addresses(address):
    assert not is_public_address(address)
    assert not AddressPolicy().allows(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address):
    assert is_public_address(address)
    assert AddressPolicy().allows(address)


def test_allow_list_by_address_network_and_host_name():
    policy = AddressPolicy.from_allow_list(["127.0.0.1", "10.1.0.0/16", " minio.internal ", "", "[::1]"])
    assert policy.allows("127.0.0.1")
    assert not policy.allows("127.0.0.2")
    assert policy.allows("10.1.200.3")
    assert not policy.allows("10.2.0.1")
    assert policy.allows("::1")
    assert policy.allows("::ffff:127.0.0.1")
    assert policy.allows_host_name("MINIO.internal.")
    assert not policy.allows("192.168.0.9")
    assert policy.allows("192.168.0.9", extra_allowed=frozenset({"192.168.0.9"}))


def _mp4_head(brand: bytes = b"isom") -> bytes:
    return b"\x00\x00\x00\x20ftyp" + brand + b"\x00" * 20


@pytest.mark.parametrize(
    ("head", "ext"),
    [
        (_mp4_head(), ".mp4"),
        (_mp4_head(b"qt  "), ".mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", ".webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", ".mkv"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", ".avi"),
        (b"FLV\x01\x05", ".flv"),
        (b"OggS\x00\x02", ".ogv"),
        (b"\x00\x00\x01\xba\x44", ".mpg"),
        (bytes([0x47]) + b"\x00" * 187 + bytes([0x47]) + b"\x00" * 10, ".ts"),
        (b"<html><body>", None),
        (b"", None),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
    ],
)
def test_sniff_container(head, ext):
    assert sniff_container(head) == ext


def test_upload_extension():
    assert upload_extension("clip.MOV", _mp4_head()) == ".mov"  # same family: keep the user's name
    assert upload_extension("clip.avi", _mp4_head()) == ".mp4"  # bytes win over a wrong extension
    assert upload_extension("clip", _mp4_head()) == ".mp4"
    with pytest.raises(BadInput, match="does not look like a video"):
        upload_extension("clip.mp4", b"<html>")


@pytest.mark.parametrize(
    ("name", "safe"),
    [("../../etc/passwd", "passwd"), ("C:\\Users\\me\\clip.mp4", "clip.mp4"), (".hidden.mp4", "hidden.mp4"),
     ("", "upload"), ("a\x00b.mp4", "ab.mp4")],
)  # fmt: skip
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe
