"""Read a flow test file (`*.test.yaml`): YAML checked against the format's JSON Schema.

Every problem names the file, line and column of the offending YAML node, so a
typo in a test file reads like a diagnostic in a flow file:

    flows/orders.test.yaml:12:9: cases[0].expect.accepted[0]: Additional properties are not allowed ...

YAML 1.1 reads `NO`, `yes` and `off` as booleans; quote such strings ("NO").
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import best_match

from dsl import source
from flowengine.core.durations import seconds
from flowengine.flowtest.schema import SCHEMA

TEST_SUFFIXES = (".test.yaml", ".test.yml")
MAX_WAIT = 60.0  # seconds: a case is a unit test, not a soak
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


class TestFileError(Exception):
    """A test file that cannot be used; the message starts with `path:line:col:`."""

    __test__ = False  # not a pytest class

    def __init__(self, path: Path, line: int, col: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{col}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class Send:
    node: str
    message: dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One test case; the sections are the validated YAML, interpreted by the runner."""

    name: str
    line: int
    sends: list[Send]
    stubs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] | None = None
    outcome: str = "ack"
    reply: Any = ...  # Ellipsis: not checked; None: no reply expected
    wait: float = 0.0  # seconds the flow keeps running after the sends, for timer-driven emissions


@dataclass(frozen=True)
class TestFile:
    __test__ = False

    path: Path
    flow_path: Path
    flow_name: str | None
    env: dict[str, str]
    cases: list[Case]


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def flow_of(test_path: Path) -> Path:
    """The flow a test file tests by default: `orders.test.yaml` -> `orders.flow`."""
    stem = next(test_path.name[: -len(s)] for s in TEST_SUFFIXES if test_path.name.endswith(s))
    return test_path.with_name(stem + ".flow")


def load(path: Path) -> TestFile:
    try:
        text = source.decode(path.read_bytes(), str(path))
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as err:
        raise TestFileError(path, 1, 1, f"cannot read: {err}") from None
    except source.SourceError as err:
        span = err.diagnostic.span
        raise TestFileError(path, span.line, span.col, err.diagnostic.message) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise TestFileError(path, line, col, f"not valid YAML: {err.problem or err}") from None
    problem = best_match(_VALIDATOR.iter_errors(data))
    if problem is not None:
        line, col = _position(root, list(problem.absolute_path), _unknown_key(problem))
        where = _dotted(list(problem.absolute_path)) or "top level"
        raise TestFileError(path, line, col, f"{where}: {_short(problem)}")
    flow_path = path.parent / data["flow"] if "flow" in data else flow_of(path)
    if not flow_path.is_file():
        raise TestFileError(path, 1, 1, f"the flow file {flow_path} does not exist")
    cases = [_case(c, _position(root, ["cases", i])[0]) for i, c in enumerate(data["cases"])]
    seen: set[str] = set()
    for c in cases:
        if c.name in seen:
            raise TestFileError(path, c.line, 1, f"two cases are named '{c.name}'; names must be unique")
        if c.wait > MAX_WAIT:
            raise TestFileError(path, c.line, 1, f"case '{c.name}': wait is at most {MAX_WAIT:g}s; make the flow's "
                                "timeouts short in tests (e.g. \"${AFTER:-30s}\" with env: {AFTER: 200ms})")
        seen.add(c.name)
    return TestFile(path, flow_path, data.get("name"), dict(data.get("env", {})), cases)


def _case(data: dict[str, Any], line: int) -> Case:
    sends = [
        Send(node, m) for node, msgs in data["send"].items() for m in (msgs if isinstance(msgs, list) else [msgs])
    ]
    stubs = {node: s if isinstance(s, list) else [s] for node, s in data.get("stubs", {}).items()}
    return Case(
        name=data["name"],
        line=line,
        sends=sends,
        stubs=stubs,
        expect=data.get("expect", {}),
        errors=data.get("errors"),
        outcome=data.get("outcome", "ack"),
        reply=data.get("reply", ...),
        wait=seconds(data.get("wait", 0)),
    )


def _position(node: yaml.Node | None, path: list[Any], key_name: str | None = None) -> tuple[int, int]:
    """Line and column of the YAML node at `path` (or of the deepest one that exists);
    with `key_name`, of that key in the mapping at `path`."""
    for key in [*path, *([key_name] if key_name else [])]:
        if isinstance(node, yaml.MappingNode):
            node = next((k if key == key_name else v for k, v in node.value if k.value == key), node)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def _dotted(path: list[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _unknown_key(err: jsonschema.ValidationError) -> str | None:
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = err.schema.get("properties", {})
        return next((k for k in sorted(err.instance) if k not in known), None)
    return None


def _short(err: jsonschema.ValidationError) -> str:
    """A one-line reason, with "did you mean" for a misspelt section or key."""
    unknown = _unknown_key(err)
    if unknown is not None:
        known = list(err.schema.get("properties", {}))
        close = difflib.get_close_matches(unknown, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "expected one of: " + ", ".join(known)
        return f"unknown key '{unknown}'; {hint}"
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        return f"expected {_one_of_keys(err.schema)}; got keys: {', '.join(err.instance) or 'none'}"
    return err.message


def _one_of_keys(schema: dict[str, Any]) -> str:
    keys = [k for alt in schema["oneOf"] for k in alt.get("required", ())]
    return "exactly one of " + ", ".join(f"'{k}'" for k in keys) if keys else "a different value"
