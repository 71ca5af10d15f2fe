"""`/api/flows`: deploy, inspect, update, roll back, stop/start, pause/resume, delete.

Reading needs a `viewer` token, changing a flow `deployer`, deleting `admin`.
PUT and rollback take `If-Match` with the ETag of the revision the client
last saw (GET returns it); a stale one answers 412 and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.responses import Response

from flowengine.api.auth import Role, require
from flowengine.api.bodies import OPENAPI_BODY, flow_text
from flowengine.api.compiling import DEFAULT_FILE, Compiled
from flowengine.api.errors import ApiError
from flowengine.api.manager import Change, FlowManager, etag
from flowengine.api.models import (
    FLOW_NAME,
    MAX_ID,
    DeployResult,
    FlowDetail,
    FlowList,
    FlowSummary,
    FlowText,
    GraphModel,
    RevisionDetail,
    RevisionList,
    responses,
)
from flowengine.api.views import change_result, detail, revision, summary
from flowengine.pictures.export import FORMATS

router = APIRouter(prefix="/api/flows", tags=["flows"])

Viewer = Depends(require(Role.viewer))
Deployer = Depends(require(Role.deployer))
Admin = Depends(require(Role.admin))

Name = Annotated[str, Path(pattern=FLOW_NAME, max_length=128, description="The flow's name", examples=["hello"])]
DryRun = Annotated[bool, Query(description="Compile and lint only: start and store nothing")]
IfMatch = Annotated[str | None, Header(description="ETag of the revision the change is based on")]
Version = Annotated[int, Path(ge=1, le=MAX_ID, description="Revision number", examples=[1])]

GRAPH_TYPES = {"dot": "text/vnd.graphviz", "mermaid": "text/plain", "json": "application/json"}


FLOW_LINKS = {
    f"{method}{suffix.replace('/', '_')}": {
        "operationRef": f"#/paths/~1api~1flows~1{{name}}{suffix.replace('/', '~1')}/{method}",
        "parameters": {"name": "$response.body#/name"},
    }
    for method, suffix in (
        ("get", ""), ("put", ""), ("delete", ""), ("get", "/graph"), ("get", "/revisions"),
        ("post", "/rollback"), ("post", "/stop"), ("post", "/start"), ("post", "/pause"), ("post", "/resume"),
        ("get", "/dead-letters"), ("post", "/dead-letters/replay"),
    )
}  # fmt: skip
"""OpenAPI links from a deploy that created a flow (201) to what may be done with it next: the
stateful checks follow these. A dry run's 200 creates nothing, so it links nowhere."""


def manager(request: Request) -> FlowManager:
    found: FlowManager = request.app.state.manager
    return found


Manager = Annotated[FlowManager, Depends(manager)]


def _answer(manager: FlowManager, change: Change, response: Response) -> DeployResult:
    response.status_code = 201 if change.created and not change.dry_run else 200
    if not change.dry_run:
        response.headers["etag"] = etag(change.deployment.revision.hash)
    return change_result(manager, change)


async def _read(request: Request, manager: FlowManager, url_name: str | None = None) -> tuple[FlowText, Compiled]:
    text = await flow_text(request, request.app.state.max_body_bytes)
    compiled = manager.compile(text.source, text.file or DEFAULT_FILE)
    declared = compiled.flow.name
    for given, where in ((url_name, "the URL"), (text.name, "the body's 'name'")):
        if given is not None and given != declared:
            raise ApiError(400, "bad_request", f"the source declares flow '{declared}', but {where} says '{given}'")
    return text, compiled


@router.get("", dependencies=[Viewer], responses=responses(), summary="List deployed flows")
async def list_flows(manager: Manager) -> FlowList:
    return FlowList(flows=[summary(manager, d) for d in manager.deployments.all()])


@router.post(
    "",
    dependencies=[Deployer],
    status_code=201,
    responses={
        201: {"description": "Deployed and started", "links": FLOW_LINKS},
        200: {"model": DeployResult, "description": "Dry run: compiled and linted, nothing started"},
        **responses(409, 413, 415, 422),
    },
    openapi_extra=OPENAPI_BODY,
    summary="Deploy a new flow",
    description="Compiles and lints the flow, starts it, and stores it as revision 1. "
    "A flow of that name already deployed is a 409: update it with PUT.",
)
async def create_flow(request: Request, response: Response, manager: Manager, dry_run: DryRun = False) -> DeployResult:
    text, compiled = await _read(request, manager)
    change = await manager.create(compiled, text.source, text.file or DEFAULT_FILE, dry_run=dry_run)
    return _answer(manager, change, response)


@router.get("/{name}", dependencies=[Viewer], responses=responses(404), summary="A flow: source, status, counters")
async def get_flow(name: Name, response: Response, manager: Manager) -> FlowDetail:
    dep = manager.get(name)
    response.headers["etag"] = etag(dep.revision.hash)
    return detail(manager, dep)


@router.put(
    "/{name}",
    dependencies=[Deployer],
    responses={201: {"model": DeployResult, "description": "Created"}, **responses(412, 413, 415, 422, 409)},
    openapi_extra=OPENAPI_BODY,
    summary="Deploy or update a flow",
    description="The new version starts, then the old one drains its in-flight messages and stops. "
    "The same source as the current revision changes nothing (`changed: false`). 201 when the flow is new.",
)
async def put_flow(
    name: Name,
    request: Request,
    response: Response,
    manager: Manager,
    dry_run: DryRun = False,
    if_match: IfMatch = None,
) -> DeployResult:
    text, compiled = await _read(request, manager, name)
    change = await manager.update(compiled, text.source, text.file or DEFAULT_FILE, if_match=if_match, dry_run=dry_run)
    return _answer(manager, change, response)


@router.delete(
    "/{name}",
    dependencies=[Admin],
    status_code=204,
    response_class=Response,
    responses=responses(404),
    summary="Drain, stop and forget a flow and its revisions",
)
async def delete_flow(name: Name, manager: Manager) -> Response:
    await manager.delete(name)
    return Response(status_code=204)


@router.post(
    "/{name}/rollback",
    dependencies=[Deployer],
    responses=responses(404, 409, 412, 422),
    summary="Return to the previous revision",
    description="Deploys the revision that was current before this one, as a new revision. "
    "Each rollback goes one step further back; `?version=N` returns to revision N.",
)
async def rollback_flow(
    name: Name,
    response: Response,
    manager: Manager,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Revision to return to")] = None,
    if_match: IfMatch = None,
) -> DeployResult:
    change = await manager.rollback(name, version, if_match)
    return _answer(manager, change, response)


def _lifecycle(action: str, doc: str) -> None:
    async def endpoint(name: Name, manager: Manager) -> FlowSummary:
        return summary(manager, await getattr(manager, action)(name))

    endpoint.__name__ = f"{action}_flow"
    router.post(
        f"/{{name}}/{action}",
        dependencies=[Deployer],
        responses=responses(404, 409, 422),
        summary=doc,
    )(endpoint)


_lifecycle("stop", "Stop consuming, drain in-flight messages, close the flow (kept deployed)")
_lifecycle("start", "Start a stopped, paused or failed flow")
_lifecycle("pause", "Stop consuming; in-flight messages finish; connections stay open")
_lifecycle("resume", "Consume again after a pause")


@router.get(
    "/{name}/graph",
    dependencies=[Viewer],
    responses={
        200: {
            "model": GraphModel,  # FastAPI declares it for application/json
            "description": "The graph",
            "content": {t: {"schema": {"type": "string"}} for f, t in GRAPH_TYPES.items() if f != "json"},
        },
        **responses(404),
    },
    response_class=Response,
    summary="The flow's graph as Graphviz DOT, Mermaid or JSON",
)
async def graph(
    name: Name, manager: Manager, format: Annotated[Literal["dot", "mermaid", "json"], Query()] = "dot"
) -> Response:
    compiled = manager.compiled(manager.get(name))
    return Response(FORMATS[format](compiled.flow), media_type=GRAPH_TYPES[format])


@router.get(
    "/{name}/revisions", dependencies=[Viewer], responses=responses(404), summary="Every revision, oldest first"
)
async def revisions(name: Name, manager: Manager) -> RevisionList:
    current = manager.get(name)
    return RevisionList(flow=name, revisions=[revision(r, current) for r in manager.deployments.revisions(name)])


@router.get(
    "/{name}/revisions/{version}",
    dependencies=[Viewer],
    responses=responses(404),
    summary="One revision with its source",
)
async def one_revision(name: Name, version: Version, manager: Manager) -> RevisionDetail:
    current = manager.get(name)
    found = manager.deployments.revision(name, version)
    if found is None:
        raise ApiError(404, "not_found", f"flow '{name}' has no revision {version}")
    return RevisionDetail(**revision(found, current).model_dump(), source=found.source)
