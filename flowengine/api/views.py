"""What the API shows of a deployed flow: its record, its graph and its live counters.

Nodes and edges come from the graph export (`flowengine.pictures.export.to_json`), so the
API and `flowengine graph` never disagree and options appear as written. Live
counters come from the running runtime's `NodeStats`; error texts pass through
the flow's redactor.
"""

from __future__ import annotations

from typing import Any

from flowengine.api.compiling import Compiled, diagnostics_json
from flowengine.api.deployments import Deployment, Revision
from flowengine.api.manager import Change, FlowManager
from flowengine.api.models import (
    DeployResult,
    EdgeModel,
    FlowDetail,
    FlowReadiness,
    FlowSummary,
    NodeCounters,
    NodeModel,
    RevisionModel,
    Status,
)
from flowengine.compile.spec import Role
from flowengine.pictures.export import to_json
from flowengine.runtime.flow import FlowRuntime


def status_of(manager: FlowManager, dep: Deployment) -> Status:
    if dep.status == "started" and manager.runtime(dep.name) is None:
        return "failed"
    return dep.status


def summary(
    manager: FlowManager, dep: Deployment, compiled: Compiled | None = None, *, live: bool = True
) -> FlowSummary:
    """`live=False` describes a dry run's preview: nothing of it runs."""
    compiled = compiled or manager.compiled(dep)
    runtime = manager.runtime(dep.name) if live else None
    status = status_of(manager, dep) if live else dep.status
    return FlowSummary(
        name=dep.name,
        version=dep.revision.version,
        hash=dep.revision.hash,
        status=status,
        description=compiled.flow.description,
        in_flight=runtime.in_flight if runtime else 0,
        updated_at=dep.updated_at,
        error=manager.failures.get(dep.name, "not running") if status == "failed" else None,
    )


def detail(manager: FlowManager, dep: Deployment, compiled: Compiled | None = None, *, live: bool = True) -> FlowDetail:
    compiled = compiled or manager.compiled(dep)
    runtime = manager.runtime(dep.name) if live else None
    graph = to_json(compiled.flow)
    return FlowDetail(
        **summary(manager, dep, compiled, live=live).model_dump(),
        file=dep.revision.file,
        source=dep.revision.source,
        nodes=[_node(n, runtime, compiled) for n in graph["nodes"]],
        edges=[EdgeModel.model_validate(e) for e in graph["edges"]],
        diagnostics=diagnostics_json(compiled.warnings, compiled.redact),
    )


def change_result(manager: FlowManager, change: Change) -> DeployResult:
    preview = change.dry_run and change.changed  # nothing runs or is stored: no counters
    base = detail(manager, change.deployment, change.compiled, live=not preview)
    return DeployResult(**base.model_dump(by_alias=True), changed=change.changed, dry_run=change.dry_run)


def _node(node: dict[str, Any], runtime: FlowRuntime | None, compiled: Compiled) -> NodeModel:
    """A node of the export, with live counters when its flow runs (the running version is
    always the current revision: an update either replaces it or stops it)."""
    counters = None
    stats = runtime.stats.get(node["name"]) if runtime is not None else None
    if runtime is not None and stats is not None:
        built = runtime.flow.info(node["name"]).runtime
        counters = NodeCounters(
            received=stats.received,
            sent=stats.sent,
            errors=stats.errors,
            dropped=stats.dropped,
            in_flight=None if node["role"] == Role.SOURCE.value else max(0, stats.received - stats.sent - stats.errors),
            last_error=compiled.redact.optional(stats.last_error),
            connected=built is None or bool(built.connected),
        )
    return NodeModel(**node, counters=counters)


def revision(rev: Revision, current: Deployment) -> RevisionModel:
    return RevisionModel(
        version=rev.version,
        hash=rev.hash,
        file=rev.file,
        created_at=rev.created_at,
        reason=rev.reason,
        previous=rev.previous,
        current=rev.version == current.revision.version,
    )


def disconnected(runtime: FlowRuntime) -> list[str]:
    """Names of the runtime's nodes whose connection is down."""
    return sorted(i.name for i in runtime.flow.infos() if i.runtime is not None and not i.runtime.connected)


def readiness(manager: FlowManager, dep: Deployment) -> FlowReadiness:
    """A started flow is ready when it runs and every connection is up; others are not asked to be."""
    status = status_of(manager, dep)
    runtime = manager.runtime(dep.name)
    down = disconnected(runtime) if runtime is not None else []
    ready = status != "failed" and not down
    return FlowReadiness(name=dep.name, status=status, ready=ready, disconnected=down)
