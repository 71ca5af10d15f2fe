"""flowengine.formats.hl7.ack: AA/AE/AR built in the message's own delimiters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowengine.formats import hl7

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
ORU = "MSH|^~\\&|LAB|HOSP|EHR|WARD|20240101||ORU^R01^ORU_R01|CTRL-7|P|2.5.1\rPID|1\rOBR|1\r"


def test_aa_swaps_sender_and_receiver_and_echoes_the_control_id() -> None:
    ack = hl7.build_ack(hl7.parse(ORU), control_id="A1", now=NOW)
    assert ack.to_er7() == ("MSH|^~\\&|EHR|WARD|LAB|HOSP|20240506070809+0000||ACK^R01^ACK|A1|P|2.5.1\rMSA|AA|CTRL-7\r")


def test_ae_carries_the_reason_in_msa3_and_err() -> None:
    ack = hl7.build_ack(
        hl7.parse(ORU), "AE", "PID-3 | missing", error_code=101, location="PID-3", control_id="A2", now=NOW
    )
    assert ack.to_er7().split("\r")[1:3] == [
        "MSA|AE|CTRL-7|PID-3 \\F\\ missing",
        "ERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 \\F\\ missing",
    ]
    assert hl7.ack_code(hl7.parse(ack.to_bytes())) == ("AE", "PID-3 | missing")


def test_versions_before_25_get_err1() -> None:
    msg = hl7.parse("MSH|^~\\&|A|B|C|D|1||ADT^A01|X9|P|2.3\r")
    ack = hl7.build_ack(msg, "AR", "down", control_id="A3", now=NOW)
    assert ack.to_er7() == (
        "MSH|^~\\&|C|D|A|B|20240506070809+0000||ACK^A01|A3|P|2.3\r"
        "MSA|AR|X9|down\r"
        "ERR|^^^207&Application internal error&HL70357\r"
    )


def test_the_message_delimiters_are_kept() -> None:
    msg = hl7.parse("MSH*#@!%*A*B*C*D*1**ADT#A01*X9*P*2.5\r")
    assert hl7.build_ack(msg, control_id="A4", now=NOW).to_er7().startswith("MSH*#@!%*C*D*A*B*")


def test_an_unreadable_message_still_gets_a_reject() -> None:
    ack = hl7.build_ack(None, "AR", "not HL7", control_id="A5", now=NOW)
    assert ack.to_er7().split("\r")[:2] == ["MSH|^~\\&|||||20240506070809+0000||ACK|A5|P|2.5", "MSA|AR||not HL7"]


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="ACK code must be one of AA, AE, AR, CA, CE, CR, got 'OK'"):
        hl7.build_ack(None, "OK")
