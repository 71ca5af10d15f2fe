"""HL7 v2 <-> XML round trip on hostile shapes: `python -m bench.hl7_xml [--scale N]`.

Issue 19 found a message with a 1 MB field took 10 s to go ER7 -> XML -> ER7.
Each case builds one message, then times each step of the round trip that
`hl7.to_xml` and `hl7.from_xml` flows take, so a step that is quadratic in its
input shows at once (double the scale, see which step quadruples):

    big-field     one OBX-5 of 1 MB plain text
    big-escaped   one OBX-5 of 1 MB in which every 10th character is an escape (\\F\\)
    many-comps    one field of 100,000 components
    many-reps     one field of 100,000 repetitions
    many-segs     100,000 OBX segments

CPU time of this process (steadier than wall time on a shared machine), best of --repeat.
`--scale 0.5` halves every size.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from lxml import etree

from flowengine.formats import hl7, xmlsafe
from flowengine.formats.xmllimits import XmlLimits

HEADER = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240102030405||ORU^R01|CTRL-1|P|2.5\rPID|1||123^^^HOSP^MR||DOE^JOHN\r"
UNLIMITED = XmlLimits(attributes=10**9, children=10**9, depth=10**9, elements=10**9, text=10**9)
"""The bench measures the codec, not the engine's refusals: no XML limits."""


def cases(scale: float) -> dict[str, str]:
    mb, many = int(1_000_000 * scale), int(100_000 * scale)
    return {
        "big-field": HEADER + "OBX|1|TX|NOTE||" + "x" * mb + "\r",
        "big-escaped": HEADER + "OBX|1|TX|NOTE||" + "abcdef\\F\\" * (mb // 10) + "\r",
        "many-comps": HEADER + "OBX|1|TX|NOTE||" + "^".join("c" for _ in range(many)) + "\r",
        "many-reps": HEADER + "OBX|1|TX|NOTE||" + "~".join("r" for _ in range(many)) + "\r",
        "many-segs": HEADER + "".join(f"OBX|{i}|NM|GLU||{i}|mg/dL\r" for i in range(many)),
    }


def best(repeat: int, step: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.process_time()
        result = step()
        times.append(time.process_time() - started)
    return min(times), result


def round_trip(text: str, repeat: int) -> dict[str, float]:
    """Seconds per step: parse ER7, to_xml, serialise, parse XML, from_xml; checks the result is exact."""
    out: dict[str, float] = {}
    out["parse"], msg = best(repeat, lambda: hl7.parse(text))
    out["to_xml"], tree = best(repeat, lambda: hl7.to_xml(msg))
    out["tostring"], data = best(repeat, lambda: etree.tostring(tree, encoding="UTF-8"))
    out["xml_parse"], root = best(repeat, lambda: xmlsafe.parse(data, limits=UNLIMITED))
    out["from_xml"], back = best(repeat, lambda: hl7.from_xml(root))
    if back != text:
        raise SystemExit("round trip is not exact")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per step, best kept (default 1)")
    a = parser.parse_args()
    steps = ("parse", "to_xml", "tostring", "xml_parse", "from_xml")
    print(f"{'case':<12} " + " ".join(f"{s:>9}" for s in steps) + "    total  (seconds)")
    for name, text in cases(a.scale).items():
        t = round_trip(text, a.repeat)
        print(f"{name:<12} " + " ".join(f"{t[s]:9.3f}" for s in steps) + f" {sum(t.values()):8.3f}", flush=True)


if __name__ == "__main__":
    main()
