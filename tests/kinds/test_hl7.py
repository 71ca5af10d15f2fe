"""HL7 kinds and the `hl7` view, in running flows over in-memory channels."""

from __future__ import annotations

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.formats import hl7
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok

ORU = (
    b"MSH|^~\\&|LAB|HOSP|EHR|WARD|20240101||ORU^R01^ORU_R01|CTRL-1|P|2.5.1\r"
    b"PID|1||123^^^MRN~456^^^SSN||O\\S\\BRIEN^ANN\r"
    b"OBR|1||R1|CBC^Blood count|S\r"
    b"OBX|1|NM|HGB^Hemoglobin||13.5|g/dL|12-16|N\r"
    b"OBX|2|NM|K^Potassium||6.9|mmol/L|3.5-5.1|HH\r"
)


def er7(body: bytes = ORU) -> Message:
    return Message(body, content_type="application/hl7-v2")


async def test_branch_conditions_read_hl7_paths(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  branch route {
      when "HH" in hl7["OBX[*]-8"] or hl7["OBR-5"] == "S" -> critical
      else -> normal
  }
  sink critical = memory.out()
  sink normal = memory.out()
  in -> route
}
""")
    )
    hub = hub_of(engine.services)
    assert (await hub.send("in", er7())).ok
    assert (await hub.send("in", er7(ORU.replace(b"|HH", b"|N").replace(b"|S\r", b"|R\r")))).ok
    assert [m.body for m in hub.received("critical")] == [ORU]
    assert len(hub.received("normal")) == 1


async def test_json_map_reads_hl7_paths(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform fields = json.map {
      patient:  hl7["PID-3.1"]
      ssn:      hl7.get("PID-3[2].1")
      family:   hl7["PID-5"]
      values:   hl7["OBX[*]-5"]
      results:  hl7.rows("OBX", code="3.1", value="5", flag="8")
      type:     hl7.message_type
  }
  sink out = memory.out()
  in -> fields -> out
}
""")
    )
    hub = hub_of(engine.services)
    assert (await hub.send("in", er7())).ok
    assert hub.received("out")[0].json == {
        "patient": "123",
        "ssn": "456",
        "family": "O^BRIEN",
        "values": ["13.5", "6.9"],
        "results": [{"code": "HGB", "value": "13.5", "flag": "N"}, {"code": "K", "value": "6.9", "flag": "HH"}],
        "type": "ORU^R01",
    }


async def test_the_view_parses_once_per_message() -> None:
    msg = er7()
    calls = []

    def parse(m: Message) -> object:
        calls.append(m)
        return hl7.parse(m.body)

    assert msg.view("hl7", parse) is msg.view("hl7", parse)
    assert msg.copy().view("hl7", parse) is msg.view("hl7", parse)
    assert msg.derive(body=b"x").view("hl7", lambda m: "new") == "new"
    assert len(calls) == 1


async def test_to_json_from_json_to_xml_from_xml_round_trip(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform j = hl7.to_json()
  transform mapped = json.map(mode: "merge") { family: hl7["PID-5.1"] }
  transform back = hl7.from_json()
  transform x = hl7.to_xml()
  transform er7 = hl7.from_xml()
  sink json_out = memory.out()
  sink out = memory.out()
  in -> j -> back -> x -> er7 -> out
  j -> mapped -> json_out
}
""")
    )
    hub = hub_of(engine.services)
    assert (await hub.send("in", er7())).ok
    assert hub.received("out")[0].body == ORU
    assert hub.received("out")[0].content_type == "application/hl7-v2"
    assert hub.received("json_out")[0].json["family"] == "O^BRIEN"


async def test_ack_marks_the_reply(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  sink ack = hl7.ack(text: "thanks {{ hl7['PID-3.1'] }}")
  in -> ack
}
""")
    )
    outcome = await hub_of(engine.services).send("in", er7())
    reply = hl7.parse(outcome.exchange.reply.body)
    assert (reply["MSA-1"], reply["MSA-2"], reply["MSA-3"], reply["MSH-3"]) == ("AA", "CTRL-1", "thanks 123", "EHR")


async def test_bad_hl7_takes_the_error_route_and_can_be_rejected(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform check = hl7.validate(required: {"ORU^R01": ["PID", "OBR", "OBX", "NTE"]})
  sink ok = memory.out()
  sink nack = hl7.ack(code: "AE")
  sink failed = memory.out()
  in -> check -> ok
  on error -> nack
  nack -> failed
}
""")
    )
    hub = hub_of(engine.services)
    outcome = await hub.send("in", er7())
    assert outcome.ok and outcome.handled
    assert outcome.error.kind == "validation"
    assert outcome.error.details == [
        {"location": "NTE", "message": "ORU^R01 requires a NTE segment; none found", "hl7_error_code": 100}
    ]
    nack = hl7.parse(outcome.exchange.reply.body)
    assert (nack["MSA-1"], nack["MSA-3"]) == ("AE", "NTE: ORU^R01 requires a NTE segment; none found")

    outcome = await hub.send("in", er7(b"PID|not a message"))
    assert outcome.error.kind == "bad_message"
    assert outcome.error.message == (
        "body is not HL7 v2: segment 1: a message starts with MSH (or FHS/BHS for a batch), not 'PID'"
    )
    assert hl7.parse(outcome.exchange.reply.body)["MSA-1"] == "AE"
    assert hub.received("ok") == []


async def test_a_rejected_message_with_a_readable_msh_is_addressed_from_it(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform json = hl7.to_json()
  sink ok = memory.out()
  sink nack = hl7.ack(code: "AE")
  in -> json -> ok
  on error -> nack
}
""")
    )
    outcome = await hub_of(engine.services).send("in", er7(ORU + b"pid|joined line\r"))
    assert outcome.error.details[0]["hl7_error_code"] == 100
    nack = hl7.parse(outcome.exchange.reply.body)
    assert (nack["MSA-1"], nack["MSA-2"], nack["MSH-5"]) == ("AE", "CTRL-1", "LAB")


async def test_a_node_reading_a_whole_batch_refuses_it_naming_the_broken_message(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform json = hl7.to_json()
  sink out = memory.out()
  in -> json -> out
}
""")
    )
    outcome = await hub_of(engine.services).send("in", er7(ORU + ORU.replace(b"PID|1|", b"PID|\x01|")))
    assert outcome.error.message == (
        "body is not HL7 v2: message 2: segment 7 (PID): control character U+0001 at column 5; "
        "control characters must be escaped"
    )
    assert outcome.error.details[0]["location"] == "PID-1"
    assert hub_of(engine.services).received("out") == []


async def test_malformed_hl7_in_an_expression_is_a_bad_message(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source in = memory.in()
  transform fields = json.map { id: hl7["PID-3.1"] }
  sink out = memory.out()
  in -> fields -> out
}
""")
    )
    outcome = await hub_of(engine.services).send("in", er7(b"MSH|^~|x"))
    assert not outcome.ok
    assert outcome.error.kind == "bad_message"
    assert outcome.error.node == "fields"


def test_validate_option_is_checked_when_the_flow_loads() -> None:
    from tests.conftest import codes

    assert "E103" in codes("""
flow f {
  source in = memory.in()
  transform check = hl7.validate(required: {"ORU": ["PID"]})
  sink out = memory.out()
  in -> check -> out
}
""")


async def test_from_json_and_from_xml_refuse_what_they_cannot_convert(engine: Engine) -> None:
    await engine.deploy(
        compile_ok("""
flow f {
  source j = memory.in()
  source x = memory.in()
  transform from_j = hl7.from_json()
  transform from_x = hl7.from_xml()
  sink out = memory.out()
  j -> from_j -> out
  x -> from_x -> out
}
""")
    )
    hub = hub_of(engine.services)
    bad_json = await hub.send("j", {"segments": [["PID", "1"]]})
    assert bad_json.error.kind == "bad_message"
    assert bad_json.error.message.startswith("cannot build HL7 v2: /segments/0: the first segment must be a header")
    bad_xml = await hub.send("x", Message(b"<HL7Message>", content_type="application/xml"))
    assert bad_xml.error.kind == "bad_message"
    assert bad_xml.error.message.startswith("body is not acceptable XML: line 1: not well-formed XML")
    assert hub.received("out") == []
