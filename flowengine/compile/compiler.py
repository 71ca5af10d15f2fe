"""Compile a parsed flow file into graphs: resolve kinds, names and options, build nodes.

The compiler decides *how* a flow runs. For each declaration it finds the kind
in the registry, checks options against the kind's spec (unknown options with
"did you mean", JSON Schema violations at the value's span, missing required
ones), resolves `${ENV}`, and calls the kind's `build` so expressions,
templates and schemas are compiled now, once. It then adds the edges written
as chains, branch arms and error routes, and runs the graph rules of
`flowengine.compile.rules`. Every problem is a Diagnostic; every offender is reported.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from dsl import ast, parse, source
from dsl.diagnostics import Diagnostic, Severity, has_errors
from flowengine.compile.build import BuildContext, BuildError
from flowengine.compile.files import FileRoot
from flowengine.compile.graph import CompiledFlow, EdgeKind, NodeInfo
from flowengine.compile.netallow import HttpPolicy
from flowengine.compile.policy import RETRY_FIELD, Policy, RetryPolicy, common_fields
from flowengine.compile.reach import Reach
from flowengine.compile.registry import Registry, default_registry
from flowengine.compile.rules import check_graph
from flowengine.compile.spec import Field, KindSpec, MappingUse, Role
from flowengine.compile.values import NotConvertible, ValueResolver, display, typed

BRANCH_KIND = "branch"


@dataclass
class CompileResult:
    flows: list[CompiledFlow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    text: str = ""
    syntax: ast.FlowFile | None = None  # the parsed file, for the linter's rules on the AST
    files: FileRoot = field(default_factory=lambda: FileRoot.of(None))  # where its file options resolved

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def compile_text(
    text: str,
    path: str = "<string>",
    *,
    registry: Registry | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    reach: Reach | None = None,
) -> CompileResult:
    """Parse and compile `.flow` text. Never raises for bad input: see `diagnostics`.
    `base_dir` is the flow's folder (relative file names start there); `reach` what it may read and call."""
    reach = reach or Reach()
    files = reach.files_for(base_dir)
    flow_file, diagnostics = parse(text, path)
    result = CompileResult(text=text, diagnostics=list(diagnostics), syntax=flow_file, files=files)
    if diagnostics:
        return result
    compiler = _FlowCompiler(registry or default_registry(), os.environ if env is None else env, files, reach.http)
    for flow in flow_file.flows:
        compiled = compiler.compile_flow(flow, flow_file)
        result.flows.append(compiled)
    result.diagnostics.extend(compiler.diagnostics)
    result.diagnostics.extend(_duplicate_flows(flow_file.flows))
    result.diagnostics.sort(key=lambda d: d.sort_key)
    return result


def compile_file(path: Path, **kwargs: object) -> CompileResult:
    try:
        text = source.read(path)
    except source.SourceError as err:
        return CompileResult(diagnostics=[err.diagnostic])
    kwargs.setdefault("base_dir", path.parent)
    return compile_text(text, str(path), **kwargs)  # type: ignore[arg-type]


def find_flow_files(paths: Iterable[Path]) -> list[Path]:
    """The files among `paths`, and the *.flow files under the directories among them (sorted)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(p.rglob("*.flow")))
        else:
            found.append(p)
    return found


def _duplicate_flows(flows: list[ast.Flow]) -> list[Diagnostic]:
    seen: dict[str, ast.Flow] = {}
    out = []
    for f in flows:
        if f.name in seen:
            out.append(
                Diagnostic(
                    "E111", f"duplicate flow name '{f.name}' (first at line {seen[f.name].name_span.line})", f.name_span
                )
            )
        else:
            seen[f.name] = f
    return out


class _FlowCompiler:
    def __init__(self, registry: Registry, env: Mapping[str, str], files: FileRoot, http: HttpPolicy) -> None:
        self.registry = registry
        self.env = env
        self.files = files
        self.http = http
        self.revision = ""
        self.diagnostics: list[Diagnostic] = []
        self.calls: list[tuple[str, str, ast.Span]] = []  # (caller, callee, span) of the flow being compiled

    def error(self, code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.ERROR, hint))

    def compile_flow(self, flow: ast.Flow, flow_file: ast.FlowFile) -> CompiledFlow:
        compiled = CompiledFlow(flow.name, flow.description, flow_file.path, flow_file.text, flow.span)
        self.revision = compiled.revision
        self.calls = []
        decls = self._declarations(flow)
        default_retry = self._flow_retry(flow)
        for decl in decls.values():
            info = self._node(flow.name, decl)
            if default_retry is not None and info.role is not Role.SOURCE:
                info.policy = _with_default_retry(info.policy, default_retry)
            compiled.graph.add_node(decl.name, info=info)
        self._edges(flow, compiled)
        self.diagnostics.extend(check_graph(compiled))
        return compiled

    def _flow_retry(self, flow: ast.Flow) -> RetryPolicy | None:
        """The flow-wide `retry` default: `flow f "..." (retry: {...}) {`, for nodes without their own."""
        found: RetryPolicy | None = None
        resolver = ValueResolver(self.env)
        for opt in flow.options:
            if opt.key != "retry":
                self.error("E102", f"option '{opt.key}' not recognised by a flow", opt.key_span,
                           hint="a flow takes `retry`, the default for every node without its own")  # fmt: skip
                continue
            value = resolver.resolve(opt.value)
            if self._check_value("flow", opt, RETRY_FIELD, value) and found is None:
                found = RetryPolicy.from_options(value)
        self.diagnostics.extend(resolver.diagnostics)
        return found

    def _declarations(self, flow: ast.Flow) -> dict[str, ast.NodeDecl | ast.BranchDecl]:
        decls: dict[str, ast.NodeDecl | ast.BranchDecl] = {}
        for stmt in flow.statements:
            if not isinstance(stmt, ast.NodeDecl | ast.BranchDecl):
                continue
            if stmt.name in decls:
                first = decls[stmt.name].name_span.line
                self.error(
                    "E111", f"duplicate node name '{stmt.name}' (first declared at line {first})", stmt.name_span
                )
                continue
            decls[stmt.name] = stmt
        return decls

    # --- nodes ---------------------------------------------------------------
    def _node(self, flow: str, decl: ast.NodeDecl | ast.BranchDecl) -> NodeInfo:
        if isinstance(decl, ast.BranchDecl):
            return self._branch(flow, decl)
        spec = self.registry.get(decl.kind)
        if spec is None:
            near = self.registry.suggest(decl.kind)
            self.error(
                "E101",
                f"unknown node kind '{decl.kind}'" + (f"; did you mean '{near}'?" if near else ""),
                decl.kind_span,
                hint=None if near else "run `flowengine docs` for the list of kinds",
            )
            return NodeInfo(decl.name, decl.kind, Role(decl.role), decl.span, None)
        if spec.role.value != decl.role:
            self.error(
                "E105",
                f"'{decl.kind}' is a {spec.role.value}, but '{decl.name}' is declared as a {decl.role}",
                decl.span,
                hint=f"write `{spec.role.value} {decl.name} = {decl.kind}(...)`",
            )
        info = NodeInfo(decl.name, decl.kind, spec.role, decl.span, spec, mapping=decl.mapping or ())
        option_spans = self._options(spec, decl, info)
        self._check_mapping(spec, decl)
        ctx = BuildContext(
            flow,
            decl.name,
            decl.kind,
            info.options,
            decl.span,
            option_spans,
            mapping=decl.mapping or (),
            files=self.files,
            http=self.http,
            revision=self.revision,
        )
        if spec.calls is not None and not self._errors_within(ctx.span):  # options valid, even if the build fails
            self.calls.extend((decl.name, callee, ctx.span_of(opt)) for opt, callee in spec.calls(info.options))
        self._build(spec, ctx, info)
        return info

    def _branch(self, flow: str, decl: ast.BranchDecl) -> NodeInfo:
        spec = self.registry.get(BRANCH_KIND)
        info = NodeInfo(decl.name, BRANCH_KIND, Role.BRANCH, decl.span, spec, arms=decl.arms)
        if spec is not None:
            ctx = BuildContext(flow, decl.name, BRANCH_KIND, {}, decl.span, arms=decl.arms, files=self.files)
            self._build(spec, ctx, info)
        return info

    def _errors_within(self, span: ast.Span) -> bool:
        return any(d.span.file == span.file and _within(d.span, span) for d in self.diagnostics)

    def _build(self, spec: KindSpec, ctx: BuildContext, info: NodeInfo) -> None:
        if self._errors_within(ctx.span):
            return  # options already wrong: building would only repeat the error
        try:
            info.runtime = spec.build(ctx)
        except BuildError as err:
            self.error(err.code, err.message, err.span, err.hint)
        self.diagnostics.extend(Diagnostic(w.code, w.message, w.span, Severity.WARNING, w.hint) for w in ctx.warnings)

    def _options(self, spec: KindSpec, decl: ast.NodeDecl, info: NodeInfo) -> dict[str, ast.Span]:
        resolver = ValueResolver(self.env)
        spans: dict[str, ast.Span] = {}
        common = common_fields(spec)
        fields = {**spec.options, **common}
        invalid: set[str] = set()
        for opt in decl.options:
            field_spec = fields.get(opt.key)
            if field_spec is None:
                close = difflib.get_close_matches(opt.key, fields, n=1, cutoff=0.6)
                known = ", ".join(fields) or "none"
                self.error(
                    "E102",
                    f"option '{opt.key}' not recognised by '{spec.name}'"
                    + (f"; did you mean '{close[0]}'?" if close else ""),
                    opt.key_span,
                    hint=None if close else f"options of {spec.name}: {known}",
                )
                continue
            if opt.key in spans:
                self.error("E102", f"option '{opt.key}' given twice", opt.key_span)
                continue
            spans[opt.key] = opt.value.span
            reported = len(resolver.diagnostics)
            value = resolver.resolve(opt.value, required=field_spec.required)
            info.display_options[opt.key] = "***" if field_spec.secret else display(opt.value)
            if len(resolver.diagnostics) > reported:  # E140 says what is wrong: a variable is missing
                invalid.add(opt.key)
            elif isinstance(opt.value, ast.StringValue) and opt.value.has_env:
                try:
                    value = typed(value, field_spec.schema)
                except NotConvertible as err:
                    self._not_convertible(spec.name, opt, err.wanted)
                    invalid.add(opt.key)
            info.options[opt.key] = value
            if opt.key not in invalid and not self._check_value(spec.name, opt, field_spec, value):
                invalid.add(opt.key)
        self.diagnostics.extend(resolver.diagnostics)
        # the engine's own options go to the engine, never to the kind's build
        engine_options = {k: info.options.pop(k) for k in common if k in info.options}
        if not invalid & engine_options.keys():
            info.policy = Policy.from_options(engine_options)
        info.max_bytes = engine_options.get("max_message_bytes")
        for name, f in spec.options.items():
            if f.required and name not in info.options:
                self.error("E104", f"'{spec.name}' needs option '{name}': {f.description}", decl.kind_span)
            elif name not in info.options and f.default is not None:
                info.options[name] = f.default
        return spans

    def _check_value(self, owner: str, opt: ast.Option, field_spec: Field, value: Any) -> bool:
        """Report the first schema violation of an option's value; True when there is none."""
        validator = jsonschema.Draft202012Validator(field_spec.schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        for err in errors[:1]:
            where = "".join(f"[{p!r}]" for p in err.absolute_path)
            # a value resolved from ${ENV} may be a secret: name the rule it breaks, never the value
            why = err.message if not _has_env(opt.value) and not field_spec.secret else _rule_broken(err, opt.value)
            self.error("E103", f"option '{opt.key}{where}' of '{owner}': {why}", opt.value.span)
        return not errors

    def _not_convertible(self, owner: str, opt: ast.Option, wanted: str) -> None:
        """E107: a `${...}` value that is not of the option's type. Like E103, it never shows the
        value: what the environment holds may be a secret whatever the option."""
        self.error(
            "E107",
            f"option '{opt.key}' of '{owner}': the value of {_env_names(opt.value)} is not {wanted}",
            opt.value.span,
            hint=f"set {_env_names(opt.value, ' and ', bare=True)} to {wanted}",
        )

    def _check_mapping(self, spec: KindSpec, decl: ast.NodeDecl) -> None:
        if spec.mapping is MappingUse.NONE and decl.mapping is not None:
            self.error("E106", f"'{spec.name}' takes no mapping block", decl.span)
        elif spec.mapping is MappingUse.REQUIRED and decl.mapping is None:
            self.error("E106", f"'{spec.name}' needs a mapping block: {{ field: expression ... }}", decl.kind_span)

    # --- edges ---------------------------------------------------------------
    def _edges(self, flow: ast.Flow, compiled: CompiledFlow) -> None:
        order = 0
        g = compiled.graph
        for stmt in flow.statements:
            if isinstance(stmt, ast.BranchDecl):
                for arm in stmt.arms:
                    if self._known(compiled, arm.target, arm.target_span) and stmt.name in g:
                        kind = EdgeKind.ELSE if arm.condition is None else EdgeKind.WHEN
                        order += 1
                        g.add_edge(
                            stmt.name, arm.target, kind=kind, condition=arm.condition, span=arm.target_span, order=order
                        )
            elif isinstance(stmt, ast.Chain):
                for a, b in zip(stmt.names, stmt.names[1:], strict=False):
                    known_a = self._known(compiled, a.name, a.span)
                    known_b = self._known(compiled, b.name, b.span)
                    if known_a and known_b:
                        order += 1
                        self._chain_edge(compiled, a, b, order)
            elif isinstance(stmt, ast.ErrorRoute):
                if not self._known(compiled, stmt.handler.name, stmt.handler.span):
                    continue
                if stmt.node is None:
                    compiled.error_handler = stmt.handler.name
                elif self._known(compiled, stmt.node.name, stmt.node.span):
                    order += 1
                    g.add_edge(
                        stmt.node.name,
                        stmt.handler.name,
                        kind=EdgeKind.ERROR,
                        condition=None,
                        span=stmt.span,
                        order=order,
                    )
        for caller, callee, span in self.calls:
            if self._known(compiled, callee, span):
                order += 1
                self._call_edge(compiled, caller, callee, span, order)

    def _call_edge(self, compiled: CompiledFlow, caller: str, callee: str, span: ast.Span, order: int) -> None:
        role = compiled.info(callee).role
        if callee == caller:
            self.error("E115", f"'{caller}' cannot run itself", span)
        elif role in (Role.SOURCE, Role.BRANCH):
            self.error(
                "E115",
                f"'{caller}' runs '{callee}', but '{callee}' is a {role.value}; it can run a transform or a sink",
                span,
            )
        elif not compiled.graph.has_edge(caller, callee):
            compiled.graph.add_edge(caller, callee, kind=EdgeKind.CALL, condition=None, span=span, order=order)

    def _chain_edge(self, compiled: CompiledFlow, a: ast.NameRef, b: ast.NameRef, order: int) -> None:
        g = compiled.graph
        src, dst = compiled.info(a.name), compiled.info(b.name)
        if src.arms:
            self.error(
                "E114",
                f"'{a.name}' routes with when/else arms; add an arm instead of an edge",
                a.span,
                hint=f"inside `branch {a.name} {{ ... }}`: when <condition> -> {b.name}",
            )
        elif dst.role is Role.SOURCE:
            self.error("E113", f"'{b.name}' is a source and cannot receive messages", b.span)
        elif g.has_edge(a.name, b.name):
            self.diagnostics.append(
                Diagnostic("W112", f"edge {a.name} -> {b.name} is written twice", b.span, Severity.WARNING)
            )
        else:
            g.add_edge(a.name, b.name, kind=EdgeKind.NEXT, condition=None, span=b.span, order=order)

    def _known(self, compiled: CompiledFlow, name: str, span: ast.Span) -> bool:
        if name in compiled.graph:
            return True
        close = difflib.get_close_matches(name, list(compiled.graph.nodes), n=1, cutoff=0.6)
        self.error("E110", f"undefined node '{name}'" + (f"; did you mean '{close[0]}'?" if close else ""), span)
        return False


def _with_default_retry(policy: Policy | None, retry: RetryPolicy) -> Policy:
    if policy is None:
        return Policy(retry=retry)
    return policy if policy.retry is not None else Policy(retry=retry, breaker=policy.breaker)


def _has_env(value: ast.Value) -> bool:
    if isinstance(value, ast.StringValue):
        return value.has_env
    if isinstance(value, ast.ListValue):
        return any(_has_env(v) for v in value.items)
    if isinstance(value, ast.DictValue):
        return any(_has_env(o.value) for o in value.entries)
    return False


def _env_names(value: ast.Value, sep: str = ", ", bare: bool = False) -> str:
    """The environment variables a value reads, as written (`${PORT}`) or bare (`PORT`)."""
    names: list[str] = []
    for part in _env_refs(value):
        name = part.name if bare else f"${{{part.name}}}"
        if name not in names:
            names.append(name)
    return sep.join(names)


def _env_refs(value: ast.Value) -> Iterator[ast.EnvRef]:
    if isinstance(value, ast.StringValue):
        yield from (p for p in value.parts if isinstance(p, ast.EnvRef))
    elif isinstance(value, ast.ListValue):
        for item in value.items:
            yield from _env_refs(item)
    elif isinstance(value, ast.DictValue):
        for entry in value.entries:
            yield from _env_refs(entry.value)


def _rule_broken(err: jsonschema.ValidationError, value: ast.Value) -> str:
    source = f"of {_env_names(value)}" if _has_env(value) else "(secret)"
    return f"the value {source} does not satisfy '{err.validator}': {err.validator_value!r}"


def _within(inner: ast.Span, outer: ast.Span) -> bool:
    return (outer.line, outer.col) <= (inner.line, inner.col) <= (outer.end_line, outer.end_col)
