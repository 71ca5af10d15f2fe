"""The documents the management API sends and receives, as pydantic models.

They exist so the OpenAPI schema FastAPI serves describes every answer exactly
(clients and schemathesis read it); the routes build them from the engine's own
objects. Option values are always the *display* values: `${NAME}` as written,
secret fields as `***`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

FLOW_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""A flow's name as the language spells it; anything else cannot name a flow."""

MAX_ID = 2**53 - 1
"""The largest id or revision number the API takes: the largest integer every JSON client
reads exactly, well inside the store's 64-bit INTEGER. A larger one in a path, query or
body is refused (400 naming the parameter), never looked up."""

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A dead letter's id or a revision number, as the OpenAPI schema bounds it."""


def _json_integer(value: Any) -> Any:
    """JSON Schema's `integer`: a number without a fraction (`7.0` is one), never `true` or `"7"`,
    which pydantic's lax mode would otherwise take for 1 and 7."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JsonId = Annotated[RowId, BeforeValidator(_json_integer)]
"""An id inside a JSON body: a JSON integer within RowId's bounds."""

TEXT = r"^[^\ud800-\udfff]*$"
"""Text without lone surrogates. The JSON parser already refuses a body whose strings escape
one (400), since no UTF-8 answer could repeat it; this pattern tells clients so."""

Status = Literal["started", "stopped", "paused", "failed"]


class ErrorDetail(BaseModel):
    type: str = Field(description="Machine-readable class of the problem, e.g. 'not_found'")
    message: str = Field(description="What went wrong and, where it helps, what to do")


class ErrorBody(BaseModel):
    error: ErrorDetail


class DiagnosticModel(BaseModel):
    """One finding, exactly as `flowengine lint --format json` prints it."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    code: str
    severity: Literal["error", "warning"]
    message: str
    hint: str | None = None


class LintReportModel(BaseModel):
    files: list[str]
    errors: int
    warnings: int
    diagnostics: list[DiagnosticModel]


class InvalidFlowBody(LintReportModel):
    """422: the flow does not compile; the lint report says where and why."""

    error: ErrorDetail


class FlowText(BaseModel):
    """A flow sent as JSON instead of text/plain."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, description="The .flow text; exactly one flow", json_schema_extra={"pattern": TEXT}
    )
    name: str | None = Field(
        None, pattern=FLOW_NAME, max_length=128, description="If given, must be the name the source declares"
    )
    file: str | None = Field(
        None, description="File name used in diagnostics (defaults to '<request>')", json_schema_extra={"pattern": TEXT}
    )


class NodeCounters(BaseModel):
    received: int = Field(description="Messages in")
    sent: int = Field(description="Messages out (including ones the node dropped on purpose)")
    errors: int
    dropped: int
    in_flight: int | None = Field(
        description="Messages inside the node now; null for sources (see the flow's in_flight)"
    )
    last_error: str | None
    connected: bool = Field(description="The node's connection is up (always true for nodes without one)")


class GraphNode(BaseModel):
    name: str
    kind: str
    role: str
    options: dict[str, Any] = Field(description="Options as written: ${NAME} unresolved, secrets as ***")
    line: int
    col: int


class NodeModel(GraphNode):
    counters: NodeCounters | None = Field(description="Null while the flow is not running")


class EdgeModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    kind: str
    condition: str | None


class GraphModel(BaseModel):
    """`GET /api/flows/{name}/graph?format=json`: the export of `flowengine graph --format json`."""

    flow: str
    description: str | None
    file: str
    nodes: list[GraphNode]
    edges: list[EdgeModel]


class FlowSummary(BaseModel):
    name: str
    version: int = Field(description="Revision number of the deployed source, from 1")
    hash: str = Field(description="SHA-256 of the source; the ETag for If-Match")
    status: Status = Field(description="'failed': it should run but could not be started (see error)")
    description: str | None
    in_flight: int = Field(description="Messages the flow is working on now")
    updated_at: str
    error: str | None = Field(None, description="Why a 'failed' flow is not running")


class FlowDetail(FlowSummary):
    file: str
    source: str = Field(description="The .flow text as deployed (environment references unresolved)")
    nodes: list[NodeModel]
    edges: list[EdgeModel]
    diagnostics: list[DiagnosticModel] = Field(description="Warnings found when this revision was compiled")


class DeployResult(FlowDetail):
    changed: bool = Field(description="False when the source equals the current revision: nothing restarted")
    dry_run: bool = Field(description="True when nothing was started or stored (?dry_run=true)")


class FlowList(BaseModel):
    flows: list[FlowSummary]


class RevisionModel(BaseModel):
    version: int
    hash: str
    file: str
    created_at: str
    reason: str = Field(description="'deploy', 'update' or 'rollback to vN'")
    previous: int | None = Field(description="The revision a rollback from this one returns to")
    current: bool


class RevisionDetail(RevisionModel):
    source: str


class RevisionList(BaseModel):
    flow: str
    revisions: list[RevisionModel]


class Health(BaseModel):
    status: Literal["ok"]


class FlowReadiness(BaseModel):
    name: str
    status: Status
    ready: bool
    disconnected: list[str] = Field(description="Nodes whose connection is down")


class Readiness(BaseModel):
    ready: bool
    flows: list[FlowReadiness]


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed request",
        401: "No valid bearer token",
        403: "The token's role may not do this",
        503: "No tokens configured on the server",
    }.items()
}
"""Responses every authenticated endpoint may give."""


def responses(*extra: int) -> dict[int | str, dict[str, Any]]:
    """The error responses of an endpoint: the common ones plus `extra` statuses."""
    texts = {
        404: "No such flow or revision",
        409: "Conflicts with the flow's state or another flow",
        412: "If-Match does not name the current revision",
        413: "Body or flow source over the limit",
        415: "Send text/plain or application/json",
    }
    out = dict(ERRORS)
    for status in extra:
        if status == 422:
            out[422] = {"model": InvalidFlowBody, "description": "The flow does not compile"}
        else:
            out[status] = {"model": ErrorBody, "description": texts[status]}
    return out
