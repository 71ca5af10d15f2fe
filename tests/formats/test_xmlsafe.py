"""flowengine.formats.xmlsafe: XXE (file and network), billion laughs and parameter entities are
refused with a clear error; nothing is read, nothing is fetched, memory stays small."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowengine.formats import xmlsafe

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (b"" if i == 1 else b"%d" % (i - 1))) * 10) for i in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>"
)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP port that records every connection made to it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                seen.append(conn.recv(1024))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


def test_file_entity_is_refused_and_the_file_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'.encode()
    with pytest.raises(xmlsafe.XmlError) as caught:
        xmlsafe.parse(doc)
    assert str(caught.value) == (
        "line 1: the DOCTYPE declares entities (x); entity declarations are refused "
        "(XXE and entity-expansion protection)"
    )
    assert "TOP-SECRET" not in str(caught.value)


def test_network_entities_are_refused_and_never_fetched(listener: tuple[int, list[bytes]]) -> None:
    port, seen = listener
    for doc in (
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]><r>&x;</r>',
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p"> %p;]><r/>',
        f'<!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/r.dtd"><r/>',
    ):
        try:
            xmlsafe.parse(doc.encode())
        except xmlsafe.XmlError as err:
            assert "entit" in str(err)
    assert seen == []
    with socket.create_connection(("127.0.0.1", port)) as probe:  # the listener does record connections
        probe.sendall(b"probe")
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [b"probe"]


def test_billion_laughs_is_refused_with_bounded_memory() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(xmlsafe.XmlError, match="entity"):
            xmlsafe.parse(LAUGHS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_corpus_xxe_sample_is_refused() -> None:
    from tests.formats.corpus import read

    with pytest.raises(xmlsafe.XmlError, match=r"DOCTYPE declares entities \(xxe\)"):
        xmlsafe.parse(read("hl7v2_xml_encoding/hapi_xml-with-xxe.xml"))


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(xmlsafe.XmlError) as caught:
        xmlsafe.parse(b"<a>\n<b>\n</a>")
    assert str(caught.value).startswith("line 3: not well-formed XML: Opening and ending tag mismatch: b line 2 and a")


def test_a_doctype_without_entities_is_fine() -> None:
    assert xmlsafe.parse(b"<!DOCTYPE note><note>hi</note>").text == "hi"


def test_text_with_an_encoding_declaration_parses() -> None:
    assert xmlsafe.parse('<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>').text == "é"
