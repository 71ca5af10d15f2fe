"""Judge one test case: the outcome of each message sent, the failures, the messages
each named node passed on, and the HTTP reply. Returns the problems found, each a
list of lines ready to print (empty: the case passed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowengine.core.message import Message
from flowengine.core.outcome import Outcome
from flowengine.errors import MessageError
from flowengine.flowtest.doubles import Recorder
from flowengine.flowtest.loader import Case
from flowengine.flowtest.match import message_problems

Problem = list[str]


@dataclass
class Sent:
    node: str
    outcome: Outcome

    @property
    def errors(self) -> list[MessageError]:
        return list(self.outcome.exchange.errors)


def describe_error(error: MessageError) -> str:
    return f"node '{error.node}' failed: {error.kind}: {error.message}"


def judge(case: Case, rec: Recorder, sent: list[Sent]) -> list[Problem]:
    problems = _outcomes(case, sent) + _errors(case, rec, sent)
    for node, expected in case.expect.items():
        problems.extend(_expectation(node, expected, rec.outputs.get(node, [])))
    if case.reply is not ...:
        for i, s in enumerate(sent, 1):
            problems.extend(_reply(case.reply, s, i))
    return problems


def _outcomes(case: Case, sent: list[Sent]) -> list[Problem]:
    want_ack = case.outcome == "ack"
    out = []
    for i, s in enumerate(sent, 1):
        if s.outcome.ok != want_ack:
            verdict = "acknowledged" if s.outcome.ok else "not acknowledged (the source would nack it)"
            out.append([f"message {i} (sent to '{s.node}') was {verdict}; expected {case.outcome}"])
    return out


def _errors(case: Case, rec: Recorder, sent: list[Sent]) -> list[Problem]:
    seen = [e for s in sent for e in s.errors]
    if case.errors is None:
        return [[f"unexpected failure: {describe_error(e)}"] for e in seen]
    out: list[Problem] = []
    by_node: dict[str, list[MessageError]] = {}
    for e in seen:
        by_node.setdefault(e.node or "?", []).append(e)
    for node, spec in case.errors.items():
        errors = by_node.pop(node, [])
        if not errors:
            out.append([f"expected node '{node}' to fail, but it did not"])
            continue
        out.extend(_error_problems(node, spec, errors[0], rec))
    out.extend([f"unexpected failure: {describe_error(e)}"] for errs in by_node.values() for e in errs)
    return out


def _error_problems(node: str, spec: dict[str, Any], error: MessageError, rec: Recorder) -> list[Problem]:
    out = []
    if "type" in spec and error.kind != spec["type"]:
        out.append([f"node '{node}' failed with {error.kind}, expected {spec['type']}: {error.message}"])
    if "message" in spec and spec["message"] not in error.message:
        out.append([f"node '{node}' failed with a message without {spec['message']!r}:", f"    {error.message}"])
    if "routed_to" in spec:
        routed = next((h for failed, h in rec.routed if failed == node), None)
        if routed != spec["routed_to"]:
            where = f"'{routed}'" if routed else "no error route"
            out.append([f"the failure at '{node}' went to {where}; expected {spec['routed_to'] or 'no error route'}"])
    return out


def _expectation(node: str, expected: int | list[dict[str, Any]], actual: list[Message]) -> list[Problem]:
    count = expected if isinstance(expected, int) else len(expected)
    if len(actual) != count:
        got = [f"    {i}: {_preview(m)}" for i, m in enumerate(actual, 1)]
        return [[f"'{node}' passed on {len(actual)} message(s), expected {count}", *got]]
    if isinstance(expected, int):
        return []
    out = []
    for i, (spec, msg) in enumerate(zip(expected, actual, strict=True), 1):
        lines = message_problems(spec, msg)
        if lines:
            out.append([f"'{node}', message {i}:", *("    " + line for line in lines)])
    return out


def _reply(spec: dict[str, Any] | None, sent: Sent, index: int) -> list[Problem]:
    exchange = sent.outcome.exchange
    reply = sent.outcome.reply  # what the source would answer: none when another path failed
    if spec is None or reply is None:
        if (spec is None) != (reply is None):
            got = "no reply" if reply is None else f"a reply ({exchange.reply_status}: {_preview(reply)})"
            want = "no reply" if spec is None else "a reply"
            return [[f"message {index}: expected {want}, got {got}"]]
        return []
    out = []
    if "status" in spec and spec["status"] != exchange.reply_status:
        out.append([f"message {index}: reply status {exchange.reply_status}, expected {spec['status']}"])
    headers = spec.get("headers", {})
    wrong = {k: v for k, v in headers.items() if exchange.reply_headers.get(k) != v}
    if wrong:
        out.append([f"message {index}: reply headers {exchange.reply_headers}, expected {headers}"])
    body_spec = {k: v for k, v in spec.items() if k not in ("status", "headers")}
    lines = message_problems(body_spec, reply)
    if lines:
        out.append([f"message {index}: reply:", *("    " + line for line in lines)])
    return out


def _preview(msg: Message) -> str:
    text = msg.body[:160].decode("utf-8", "replace")
    return text + ("..." if len(msg.body) > 160 else "")
