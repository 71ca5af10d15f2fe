"""The typed syntax tree of a `.flow` file.

The AST says *what* the author wrote, with a source span on every part, and
nothing about how it runs: the engine's compiler turns it into a graph. Values
keep their source text so that exports can show `${SECRET}` instead of the
secret itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns are 1-based, end exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True, slots=True)
class EnvRef:
    """`${NAME}` or `${NAME:-default}` inside a string."""

    name: str
    default: str | None


StringPart = str | EnvRef


@dataclass(frozen=True, slots=True)
class StringValue:
    """A string literal, split into text and environment references."""

    parts: tuple[StringPart, ...]
    source: str
    span: Span

    @property
    def has_env(self) -> bool:
        return any(isinstance(p, EnvRef) for p in self.parts)


@dataclass(frozen=True, slots=True)
class ScalarValue:
    """A number, boolean or null literal."""

    value: int | float | bool | None
    source: str
    span: Span


@dataclass(frozen=True, slots=True)
class ListValue:
    items: tuple[Value, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class DictValue:
    entries: tuple[Option, ...]
    span: Span


Value = StringValue | ScalarValue | ListValue | DictValue


@dataclass(frozen=True, slots=True)
class Option:
    """`key: value` in a node's option list."""

    key: str
    key_span: Span
    value: Value


@dataclass(frozen=True, slots=True)
class MapEntry:
    """`path: expression` in a mapping block; `path` may be dotted (`a.b`)."""

    path: str
    path_span: Span
    expr: str
    expr_span: Span
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class NodeDecl:
    """`ROLE NAME = KIND(options) { mapping }`."""

    role: str
    name: str
    name_span: Span
    kind: str
    kind_span: Span
    options: tuple[Option, ...]
    mapping: tuple[MapEntry, ...] | None
    span: Span


@dataclass(frozen=True, slots=True)
class Arm:
    """One `when COND -> target` of a branch; `condition` is None for `else`."""

    condition: str | None
    condition_span: Span | None
    target: str
    target_span: Span


@dataclass(frozen=True, slots=True)
class BranchDecl:
    name: str
    name_span: Span
    arms: tuple[Arm, ...]
    span: Span

    @property
    def has_else(self) -> bool:
        return any(a.condition is None for a in self.arms)


@dataclass(frozen=True, slots=True)
class NameRef:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Chain:
    """`a -> b -> c`: edges between consecutive names."""

    names: tuple[NameRef, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ErrorRoute:
    """`on error NODE -> handler`, or flow-wide `on error -> handler` (node None)."""

    node: NameRef | None
    handler: NameRef
    span: Span


Statement = NodeDecl | BranchDecl | Chain | ErrorRoute


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    name_span: Span
    description: str | None
    statements: tuple[Statement, ...]
    span: Span
    options: tuple[Option, ...] = ()  # flow-wide defaults: `flow f "..." (retry: {...}) {`


@dataclass(slots=True)
class FlowFile:
    """A parsed file: its flows and the text they came from (for diagnostics)."""

    path: str
    text: str
    flows: list[Flow] = field(default_factory=list)
