"""XML kinds and the `xml` view, in running flows over in-memory channels."""

from __future__ import annotations

from pathlib import Path

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.runtime.engine import Engine
from tests.conftest import codes, compile_ok

ORDER = b'<o:order xmlns:o="urn:o" id="7"><o:line price="2.5">a</o:line><o:line price="4">b</o:line></o:order>'
XSL = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:o="urn:o">
  <xsl:param name="who"/>
  <xsl:template match="/o:order"><summary by="{$who}" lines="{count(o:line)}"/></xsl:template>
</xsl:stylesheet>"""
XSD = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="order"><xs:complexType><xs:sequence>
    <xs:element name="qty" type="xs:integer" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""


def xml(body: bytes) -> Message:
    return Message(body, content_type="application/xml")


async def test_xpath_extracts_fields_with_namespaces(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform x = xml.xpath(namespaces: {"o": "urn:o"}) {
      id: /o:order/@id
      lines: /o:order/o:line
      first: /o:order/o:line[1]
      total: sum(/o:order/o:line/@price)
      count: count(//o:line)
      missing: /o:order/o:none
      meta.version: string(/o:order/@version)
  }
  sink out = memory.out()
  in -> x -> out
}
""")
    )
    hub = hub_of(engine.services)
    assert (await hub.send("in", xml(ORDER))).ok
    assert hub.received("out")[0].json == {
        "id": "7",
        "lines": ["a", "b"],
        "first": "a",
        "total": 6.5,
        "count": 2,
        "missing": None,
        "meta": {"version": ""},
    }


def test_xpath_errors_show_when_the_flow_loads() -> None:
    flow = """
flow f {
  source in = memory.in()
  transform x = xml.xpath { id: %s }
  sink out = memory.out()
  in -> x -> out
}
"""
    assert codes(flow % "/order[") == ["E130"]
    assert codes(flow % "/p:order") == ["E130"]


async def test_xslt_with_params_and_the_xml_view(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "summary.xsl").write_text(XSL)
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform t = xml.xslt(file: "summary.xsl", params: {"who": "{{ headers.user }}"})
  transform read = json.map { lines: xml["/summary/@lines"]; by: xml.xpath("/summary/@by") }
  sink out = memory.out()
  in -> t -> read -> out
}
""", base_dir=tmp_path)
    )
    hub = hub_of(engine.services)
    msg = xml(ORDER)
    msg.headers["user"] = "ann"
    assert (await hub.send("in", msg)).ok
    assert hub.received("out")[0].json == {"lines": "2", "by": "ann"}


async def test_xslt_cannot_read_files(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "secret.xml").write_text("<s>TOP-SECRET</s>")
    (tmp_path / "peek.xsl").write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f"<xsl:template match='/'><r><xsl:value-of select=\"document('{tmp_path}/secret.xml')\"/></r>"
        "</xsl:template></xsl:stylesheet>"
    )
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform t = xml.xslt(file: "peek.xsl")
  sink out = memory.out()
  in -> t -> out
}
""", base_dir=tmp_path)
    )
    outcome = await hub_of(engine.services).send("in", xml(b"<a/>"))
    assert not outcome.ok and outcome.error.kind == "node_failed"
    assert "TOP-SECRET" not in outcome.error.message


async def test_json_to_xml_and_back(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform x = xml.from_json(root: "order")
  transform j = xml.to_json(lists: ["line"])
  sink xml_out = memory.out()
  sink out = memory.out()
  in -> x -> j -> out
  x -> xml_out
}
""")
    )
    hub = hub_of(engine.services)
    assert (await hub.send("in", {"@id": "7", "line": "<a & b>", "note": None})).ok
    assert hub.received("xml_out")[0].body == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<order id=\"7\"><line>&lt;a &amp; b&gt;</line>"
        b'<note xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/></order>'
    )
    assert hub.received("out")[0].json == {"order": {"@id": "7", "line": ["<a & b>"], "note": None}}


async def test_xsd_validation_lists_errors_with_lines(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "order.xsd").write_text(XSD)
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform check = xml.validate(schema: "order.xsd")
  sink out = memory.out()
  in -> check -> out
}
""", base_dir=tmp_path)
    )
    hub = hub_of(engine.services)
    assert (await hub.send("in", xml(b"<order><qty>1</qty></order>"))).ok
    outcome = await hub.send("in", xml(b"<order>\n<qty>x</qty>\n<qty>2</qty>\n<oops/></order>"))
    assert outcome.error.kind == "validation"
    assert [d["line"] for d in outcome.error.details] == [2, 4]
    assert outcome.error.message.startswith("line 2: Element 'qty': 'x' is not a valid value")
    assert outcome.error.message.endswith("(and 1 more)")


def test_missing_or_broken_schema_files_are_load_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:nope/></xs:schema>")
    flow = """
flow f {
  source in = memory.in()
  transform check = xml.validate(schema: "%s")
  sink out = memory.out()
  in -> check -> out
}
"""
    assert codes(flow % "none.xsd", base_dir=tmp_path) == ["E150"]
    assert codes(flow % "bad.xsd", base_dir=tmp_path) == ["E150"]


async def test_hostile_or_broken_xml_takes_the_error_route(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform j = xml.to_json()
  sink out = memory.out()
  sink rejected = memory.out()
  in -> j -> out
  on error -> rejected
}
""")
    )
    hub = hub_of(engine.services)
    xxe = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    for body, reason in ((xxe, "the DOCTYPE declares entities (x)"), (b"<a><b></a>", "not well-formed XML")):
        outcome = await hub.send("in", xml(body))
        assert outcome.ok and outcome.handled
        assert outcome.error.kind == "bad_message" and reason in outcome.error.message
    assert [m.headers["error-type"] for m in hub.received("rejected")] == ["bad_message", "bad_message"]
    assert hub.received("out") == []


async def test_templates_rendering_xml_escape_values(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform t = template(text: "<name>{{ body.name }}</name>", content_type: "application/xml")
  sink out = memory.out()
  in -> t -> out
}
""")
    )
    hub = hub_of(engine.services)
    assert (await hub.send("in", {"name": '<script>&"x"'})).ok
    assert hub.received("out")[0].body == b"<name>&lt;script&gt;&amp;&#34;x&#34;</name>"
