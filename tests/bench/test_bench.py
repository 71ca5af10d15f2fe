"""The benchmark's own parts work: its flows compile, S4's messages and ACK parsing, the
system files merge with the harness's, and the in-process measurement runs. No timing
assertions: figures belong to `make bench`, not to the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import micro, mllp_client, mllp_flood, peers
from flowengine.compile.compiler import compile_file
from flowengine.formats import hl7

FLOWS = sorted((peers.REPO / "bench" / "flows").glob("*.flow"))


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_bench_flows_compile(path: Path) -> None:
    result = compile_file(path, env={})
    assert result.ok, [d.message for d in result.diagnostics]


def test_s4_messages_are_oru_r01_with_the_control_id_the_checks_expect() -> None:
    parsed = hl7.parse(mllp_client.oru("run1", 42))
    assert parsed["MSH-9.1"] == "ORU" and parsed["MSH-9.2"] == "R01"
    assert parsed["MSH-10"] == mllp_client.control_id("run1", 42) == "run1-42"
    assert [s.id for s in parsed.segments].count("OBX") == 5
    segments = hl7.to_json(parsed)["segments"]
    assert segments[0][10] == "run1-42" and segments[1][3]["1"] == "P100042"  # what load_mllp reads


def test_msa_reads_code_and_acknowledged_id() -> None:
    ack = hl7.build_ack(hl7.parse(mllp_client.oru("r", 7)), "AE", "bad").to_bytes()
    assert mllp_client.msa(ack) == ("AE", "r-7")
    assert mllp_client.msa(b"MSH|^~\\&|X\r") == ("", "")


def test_our_systems_fill_placeholders_and_extend_the_harness_ones(tmp_path: Path) -> None:
    class Harness:
        @staticmethod
        def load_systems() -> dict:
            return {"raw": {"name": "raw", "env": {"A": "1"}, "scenarios": {"S1": {"start": "{python} relay.py"}}}}

    systems = peers.load_systems(Harness, tmp_path / "peers", tmp_path / "results")  # type: ignore[arg-type]
    raw = systems["raw"]
    assert set(raw["scenarios"]) == {"S1", "S4"} and raw["env"]["A"] == "1"
    assert raw["scenarios"]["S4"]["start"] == f"{{python}} {peers.REPO}/bench/relays/mllp_relay.py"
    fe = systems["flowengine"]
    assert fe["scenarios"]["S2"]["start"].endswith(f"run {peers.REPO}/bench/flows/s2.flow --port {{http_port}}")
    assert fe["env"]["FLOWENGINE_STATE"] == f"{tmp_path / 'results'}/flowengine-state.db"
    assert fe["env"]["PYTHONPATH"].split(":") == [str(tmp_path / "peers"), str(peers.REPO)]


def test_micro_measures_every_case() -> None:
    result = micro.run_all(n=20, repeat=1)
    assert set(result["us"]) == {"walk", "filter", "s1-chain", "s2-xml", "plain-py"}
    assert all(us > 0 for us in result["us"].values())


async def test_mllp_flood_reports_the_flood_and_the_good_senders_worst_wait() -> None:
    result = await mllp_flood.main(4096, b"\x0b")
    assert set(result) == {"flood_s", "good_worst_ms", "good_round_trips"}
    assert result["good_round_trips"] >= 1
