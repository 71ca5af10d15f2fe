"""S4's traffic: ORU^R01 lab results, and an MLLP client that sends one and reads its ACK.

Shared by the S4 readiness probe and its load generator. The messages look like a
laboratory's (MSH, PID, PV1, ORC, OBR, five OBX with units, ranges and flags,
about 900 bytes); MSH-10, the control id, is `<run>-<i>` so every ACK and every
published JSON document can be matched to its input.
"""

from __future__ import annotations

import asyncio

START, END = b"\x0b", b"\x1c\r"
PORT = 12575  # bench/flows/s4.flow and bench/relays/mllp_relay.py listen here
QUEUE = "bench.hl7"  # where both publish the JSON

_TESTS = (
    ("718-7", "Hemoglobin", "g/dL", "12.0-16.0"),
    ("4544-3", "Hematocrit", "%", "36-46"),
    ("6690-2", "Leukocytes", "10*3/uL", "4.5-11.0"),
    ("777-3", "Platelets", "10*3/uL", "150-400"),
    ("2823-3", "Potassium", "mmol/L", "3.5-5.1"),
)


def control_id(run: str, i: int) -> str:
    return f"{run}-{i}"


def oru(run: str, i: int) -> bytes:
    """ORU^R01 number `i` of run `run` (ER7, segments ended by CR)."""
    stamp = f"202401{1 + i % 28:02d}{i % 24:02d}{i % 60:02d}00"
    patient = f"P{100000 + i % 5000}"
    segments = [
        f"MSH|^~\\&|LIS|CITYLAB|EHR|GENERAL|{stamp}||ORU^R01^ORU_R01|{control_id(run, i)}|P|2.5.1|||AL|NE",
        f"PID|1||{patient}^^^CITYLAB^MR||Doe{i % 97}^Jane^Q||19{50 + i % 50}0{1 + i % 9}15|F|||"
        f"{i % 900 + 1} Main St^^Springfield^IL^62701",
        "PV1|1|O|LAB^^^CITYLAB||||1234^Welby^Marcus^^^Dr",
        f"ORC|RE|ORD{i}|FIL{i}||CM",
        f"OBR|1|ORD{i}|FIL{i}|58410-2^CBC panel^LN|{'S' if i % 20 == 0 else 'R'}||{stamp}|||||||||"
        f"1234^Welby^Marcus^^^Dr||||||{stamp}|||F",
    ]
    for k, (code, name, units, ranges) in enumerate(_TESTS, 1):
        value = 3 + (i * 7 + k * 13) % 400 / 10
        flag = "H" if k == 1 and i % 10 == 0 else "N"
        segments.append(f"OBX|{k}|NM|{code}^{name}^LN||{value:.1f}|{units}|{ranges}|{flag}|||F|||{stamp}")
    return ("\r".join(segments) + "\r").encode()


def msa(ack: bytes) -> tuple[str, str]:
    """(MSA-1, MSA-2) of an ACK: its code and the control id it acknowledges."""
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA"):
            fields = segment.decode("utf-8", "replace").split(segment[3:4].decode() or "|")
            return (fields[1] if len(fields) > 1 else "", fields[2] if len(fields) > 2 else "")
    return ("", "")


async def call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> bytes:
    """Send one framed message and return the ACK's payload."""
    writer.write(START + payload + END)
    await writer.drain()
    data = await reader.readuntil(END)
    return data[data.find(START) + 1 : -len(END)]
