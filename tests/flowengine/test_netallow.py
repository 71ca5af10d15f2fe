"""`flowengine.compile.netallow`: allow entries, the engine's own address, and which URL templates fix their host."""

from __future__ import annotations

import pytest

from flowengine.compile.netallow import Entry, Guard, UrlRefused, fixed_origin

GUARD = Guard((Entry.parse("https://crm.example.com/api"), Entry.parse("hooks.example.com")), (("0.0.0.0", 8080),))


@pytest.mark.parametrize(
    "url",
    ["https://crm.example.com/api", "https://crm.example.com/api/customers/7?x=1", "http://hooks.example.com:9000/a"],
)
def test_a_message_url_inside_an_entry_passes(url: str) -> None:
    GUARD.check(url, from_message=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://crm.example.com/api-admin", "https://crm.example.com is not in the node's allow-list"),
        ("http://crm.example.com/api/x", "http://crm.example.com is not in the node's allow-list"),
        ("https://crm.example.com.evil.net/api", "https://crm.example.com.evil.net is not in the node's allow-list"),
        ("https://evil.net@crm.example.co/api", "https://crm.example.co is not in the node's allow-list"),
        ("http://127.0.0.1:8080/api/flows", "http://127.0.0.1:8080 is this engine's own address"),
        ("http://localhost:8080/", "http://localhost:8080 is this engine's own address"),
        ("http://[::1]:8080/", "http://::1:8080 is this engine's own address"),
        ("file:///etc/passwd", "'file://' is not an http(s) URL"),
    ],
)
def test_a_message_url_outside_the_entries_is_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused) as caught:
        GUARD.check(url, from_message=True)
    assert str(caught.value) == reason


def test_a_constant_url_needs_no_entry_but_still_not_the_engines_own_address() -> None:
    GUARD.check("https://anywhere.example.org/x", from_message=False)
    with pytest.raises(UrlRefused):
        GUARD.check("http://127.0.0.1:8080/api/flows", from_message=False)


@pytest.mark.parametrize(
    ("template", "origin"),
    [
        ("https://crm/customers/{{ body.id }}", "https://crm/"),
        ("http://crm:8443?id={{ body.id }}", "http://crm:8443/"),
        ("http://{{ body.host }}/x", None),
        ("http://crm{{ body.suffix }}/x", None),
        ("http://crm:{{ body.port }}/x", None),
        ("{{ body.url }}", None),
    ],
)
def test_a_template_fixes_its_host_only_when_the_literal_text_ends_it(template: str, origin: str | None) -> None:
    assert fixed_origin(template) == origin


@pytest.mark.parametrize("text", ["https://", "ftp://x/", "crm/path", "a b"])
def test_a_bad_entry_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        Entry.parse(text)
