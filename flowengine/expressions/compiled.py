"""Sandboxed expressions and templates, compiled once when a flow loads.

Expressions (`body.total > 100`, `body.country | lower`) and templates
(`Hello {{ body.name }}`) use Jinja2's `SandboxedEnvironment`: no attribute
access to Python internals, no imports, no `eval`. Compilation also finds the
names an expression reads, so a message is only parsed into the views it
needs (an expression on `headers` never parses the body) and a misspelt name
is a load-time error with a suggestion rather than a silent `null`.
"""

from __future__ import annotations

import difflib
import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.runtime import new_context
from jinja2.sandbox import SandboxedEnvironment

from flowengine.core.message import Message
from flowengine.core.targets import resolve
from flowengine.errors import MessageError, NodeFailed
from flowengine.expressions.depth import NestingTooDeep, check
from flowengine.expressions.fast import compile_fast
from flowengine.expressions.filters import BUDGET
from flowengine.expressions.limits import LIMITS, LimitExceeded, text_too_long
from flowengine.expressions.sandbox import DataSandbox

# Names an expression can read, each computed from the message on demand.
VIEWS: dict[str, Callable[[Message], Any]] = {
    "body": lambda m: m.json,
    "text": lambda m: m.text,
    "headers": lambda m: m.headers,
    "attributes": lambda m: m.attributes,
    "id": lambda m: m.id,
    "content_type": lambda m: m.content_type,
    "attempt": lambda m: m.attempt,
}


def register_view(name: str, view: Callable[[Message], Any] | str) -> None:
    """Make `name` readable in expressions (used by format plug-ins such as HL7). `view` may
    be a "package.module:function" target, imported the first time an expression reads it."""
    VIEWS[name] = _lazy_view(view) if isinstance(view, str) else view


def _lazy_view(target: str) -> Callable[[Message], Any]:
    view: Callable[[Message], Any] | None = None

    def first_use(msg: Message) -> Any:
        nonlocal view
        if view is None:
            view = resolve(target)
        return view(msg)

    return first_use


_PLAIN = DataSandbox(autoescape=False)
_ESCAPED = DataSandbox(autoescape=True)


class ExpressionError(ValueError):
    """An expression or template that does not compile; `hint` may suggest a fix."""

    def __init__(self, message: str, hint: str | None = None, line: int = 1, code: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.line = line
        self.code = code  # E004 for nesting too deep; None for the caller's own code


def _free_names(env: SandboxedEnvironment, tree: nodes.Template) -> frozenset[str]:
    if any(n.name == "self" for n in tree.find_all(nodes.Name)):
        raise ExpressionError("'self' is not readable in flows", "readable names: " + ", ".join(sorted(VIEWS)))
    names = meta.find_undeclared_variables(tree) - set(env.globals)
    unknown = sorted(n for n in names if n not in VIEWS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], VIEWS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "readable names: " + ", ".join(sorted(VIEWS))
        raise ExpressionError(f"unknown name '{unknown[0]}'", hint)
    return frozenset(names)


def _context(needs: frozenset[str], msg: Message) -> dict[str, Any]:
    return {n: VIEWS[n](msg) for n in needs}


def _unwrap(value: Any) -> Any:
    return None if isinstance(value, jinja2.Undefined) else value


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> tuple[frozenset[str], Any]:
    """Parse and compile an expression once per process: flows repeat expressions (`body.id`),
    and `lint` of many files or a redeploy would compile each again. Failures are not cached.

    The evaluator is a closure built from the syntax tree (`fastexpr`) where it covers the
    expression, else Jinja's own; both take the message."""
    check(_PLAIN, source, expression=True)
    tree = _PLAIN.parse("{{ (" + source + ") }}")
    needs = _free_names(_PLAIN, tree)
    jinja = _PLAIN.compile_expression(source, undefined_to_none=False)
    fast = compile_fast(_PLAIN, tree.body[0].nodes[0], VIEWS)  # type: ignore[attr-defined]
    if fast is not None and not needs and not any(True for _ in tree.find_all(nodes.Call)):
        _constant_within_caps(fast)
    return needs, fast or (lambda msg: jinja(**_context(needs, msg)))


def _constant_within_caps(fast: Callable[[Any], Any]) -> None:
    """An expression that reads nothing gives every message the same value: one over a cap
    (`'a' * 10 ** 9`) is a load-time error (E132) rather than a failure of every message.
    The checked operations refuse before they build, so this costs microseconds."""
    try:
        fast(None)
    except LimitExceeded as err:
        raise ExpressionError(
            f"the value is over a cap: {err}", "read the size from the message, or lower it", code="E132"
        ) from None
    except Exception:  # any other failure is the message's, reported when one runs
        pass


class Expression:
    """A compiled expression; call it with a message to evaluate it."""

    __slots__ = ("_fn", "needs", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self.needs, self._fn = _compiled(source)
        except jinja2.TemplateSyntaxError as err:
            raise ExpressionError(_syntax_message(err, source), _filter_hint(err), code=_code(err)) from None

    def __call__(self, msg: Message) -> Any:
        try:
            return _unwrap(self._fn(msg))
        except MessageError:
            raise
        except Exception as err:  # the sandbox, a type error, a zero division: a message problem
            raise NodeFailed(f"expression `{self.source}` failed: {err}") from err

    @property
    def unchecked(self) -> Callable[[Message], Any]:
        """The evaluator without the error translation and without turning undefined into
        None (see `is_undefined`): for a node that evaluates many expressions in one go and,
        when that raises, calls them again one by one for the error that names the culprit."""
        return self._fn


def is_undefined(value: Any) -> bool:
    """A value an `unchecked` evaluator returns for a missing member (`__call__` gives None)."""
    return isinstance(value, jinja2.Undefined)


@functools.lru_cache(maxsize=4096)
def _compiled_template(source: str, autoescape: bool) -> tuple[frozenset[str], jinja2.Template]:
    """Like `_compiled`, for templates."""
    env = _ESCAPED if autoescape else _PLAIN
    check(env, source, expression=False)
    return _free_names(env, env.parse(source)), env.from_string(source)


class Template:
    """A compiled template rendering text from a message.

    `render` is Jinja's `Template.render` without its per-call copies: Jinja builds each
    context from a `ChainMap` of the globals (a `dict` and a `set` of it per call); here
    the globals are one plain dict, copied once at load (the environments' globals never
    change after import), and the context shares the dict made for the call.
    """

    __slots__ = ("_globals", "_tpl", "needs", "source")

    def __init__(self, source: str, *, autoescape: bool = False) -> None:
        self.source = source
        try:
            self.needs, self._tpl = _compiled_template(source, autoescape)
        except jinja2.TemplateSyntaxError as err:
            raise ExpressionError(
                _syntax_message(err, source), _filter_hint(err), line=err.lineno or 1, code=_code(err)
            ) from None
        self._globals = dict(self._tpl.globals)

    @property
    def is_constant(self) -> bool:
        return "{{" not in self.source and "{%" not in self.source

    def render(self, msg: Message) -> str:
        """The text, or NodeFailed; over a cap (`limits`), LimitExceeded with the reason."""
        tpl = self._tpl
        try:
            names = {**self._globals, **_context(self.needs, msg), BUDGET: [LIMITS.max_loop]}
            chunks = tpl.root_render_func(new_context(tpl.environment, tpl.name, tpl.blocks, names, shared=True))
            return _joined(chunks)
        except MessageError:
            raise
        except Exception as err:
            raise NodeFailed(f"template failed: {err}") from err


def _joined(chunks: Iterator[str]) -> str:
    """The chunks a render yields, joined, refused as soon as they pass the text cap. Each
    chunk is within the cap already (the sandbox writes nothing longer), so joining them 64
    at a time overshoots by a bounded amount and costs one C-level join for most templates."""
    out, size, cap = "", 0, LIMITS.max_text
    while part := "".join(itertools.islice(chunks, 64)):
        size += len(part)
        if size > cap:
            raise text_too_long(size)
        out += part
    return out


def _syntax_message(err: jinja2.TemplateSyntaxError, source: str) -> str:
    msg = err.message or "syntax error"
    return msg.replace("'end of print statement'", "end of expression").rstrip(".")


def _code(err: jinja2.TemplateSyntaxError) -> str | None:
    return "E004" if isinstance(err, NestingTooDeep) else None


def _filter_hint(err: jinja2.TemplateSyntaxError) -> str | None:
    text = err.message or ""
    if text.startswith("No filter named"):
        name = text.split("'")[1] if "'" in text else ""
        close = difflib.get_close_matches(name, [f for f in _PLAIN.filters if ":" not in f], n=1)
        return f"did you mean '{close[0]}'?" if close else None
    return None
