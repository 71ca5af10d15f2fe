"""Dead letters over the API: list, explain, replay after a fix, purge.

The same operations as `flowengine dlq`, on the running engine's store. The
list pages (`limit`, `after` cursor) with the total in X-Total-Count and the next
page in a Link header; replay sends every parked message (or the given ids) into
the running flow at the source it came in by, in batches.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from flowengine.api.auth import Role, require
from flowengine.api.errors import ApiError
from flowengine.api.manager import FlowManager
from flowengine.api.models import MAX_ID, JsonId, RowId, responses
from flowengine.api.routes_flows import Name
from flowengine.deadletter.replay import replay
from flowengine.deadletter.store import DeadLetter, DeadLetterStore
from flowengine.runtime.services import Services

router = APIRouter(prefix="/api/flows/{name}/dead-letters", tags=["dead letters"])
LetterId = Annotated[int, Path(ge=1, le=MAX_ID, description="The dead letter's id", examples=[1])]


class DeadLetterError(BaseModel):
    type: str
    message: str
    details: list[dict[str, Any]]


class ParkedMessage(BaseModel):
    id: str
    content_type: str
    headers: dict[str, str]
    attributes: dict[str, Any] = Field(
        description="The source's attributes (topic, routing key, HTTP path, query, MLLP peer); replay gives them back"
    )
    body_base64: str = Field(description="The body exactly as the source received it")
    body_text: str | None = Field(description="The body as text when it is UTF-8, else null")
    size: int


class EarlierFailure(BaseModel):
    revision: str
    node: str
    error: DeadLetterError
    attempts: int
    first_failure: str
    last_failure: str


class DeadLetterModel(BaseModel):
    id: int
    flow: str
    revision: str
    node: str = Field(description="The node that failed")
    source: str = Field(description="The source node the message came in by; a replay enters there")
    status: Literal["parked", "replayed"]
    error: DeadLetterError
    attempts: int = Field(description="Tries at the failing node")
    first_failure: str
    last_failure: str
    trace_id: str | None
    message: ParkedMessage
    history: list[EarlierFailure] = Field(description="Earlier failures of a letter replayed and parked again")
    explanation: str = Field(description="The envelope in one sentence")


class ReplayRequest(BaseModel):
    ids: list[JsonId] | None = Field(None, description="Only these dead letters; all parked ones when omitted")


class ReplayResult(BaseModel):
    selected: int = Field(description="Parked letters the replay took; the three lists add up to it")
    delivered: list[int]
    parked_again: list[int] = Field(description="Failed again and parked anew by the flow's error route")
    failed: list[int] = Field(description="Failed again with nothing to park them: still parked")


class PurgeResult(BaseModel):
    deleted: int


def _store(request: Request, name: str) -> tuple[FlowManager, DeadLetterStore]:
    manager: FlowManager = request.app.state.manager
    manager.get(name)  # 404 for an unknown flow
    services: Services = manager.engine.services
    return manager, services.singleton("dead_letters", lambda: DeadLetterStore(services.store))


def _model(letter: DeadLetter) -> DeadLetterModel:
    return DeadLetterModel.model_validate({**letter.envelope(), "explanation": letter.explain()})


PAGE_HEADERS = {
    "X-Total-Count": {"description": "How many dead letters match in all pages", "schema": {"type": "integer"}},
    "Link": {
        "description": 'The next page, `<...?after=ID&limit=N&status=S>; rel="next"`; absent on the last page',
        "schema": {"type": "string"},
    },
}


PAGE: dict[int | str, dict[str, Any]] = {200: {"description": "One page, in id order", "headers": PAGE_HEADERS}}


@router.get("", dependencies=[Depends(require(Role.viewer))], summary="List dead letters, a page at a time",
            responses={**responses(404), **PAGE})  # fmt: skip
async def list_dead_letters(
    request: Request,
    response: Response,
    name: Name,
    status: Annotated[Literal["parked", "replayed", "all"], Query()] = "parked",
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size")] = 100,
    after: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Only ids above this one: the last id of the previous page")
    ] = 0,
) -> list[DeadLetterModel]:
    _, store = _store(request, name)
    wanted = None if status == "all" else status
    page = store.list(name, status=wanted, limit=limit, after=after)
    response.headers["x-total-count"] = str(store.total(name, wanted))
    if page and store.list(name, status=wanted, limit=1, after=page[-1].id):
        following = request.url.include_query_params(after=page[-1].id, limit=limit, status=status)
        response.headers["link"] = f'<{following}>; rel="next"'
    return [_model(x) for x in page]


# `:int` keeps `/replay` from matching here, so `GET .../replay` answers 405 with `Allow: POST`
@router.get("/{letter_id:int}", dependencies=[Depends(require(Role.viewer))], responses=responses(404),
            summary="One dead letter, with its explanation")  # fmt: skip
async def show_dead_letter(request: Request, name: Name, letter_id: LetterId) -> DeadLetterModel:
    _, store = _store(request, name)
    found = store.get(name, [letter_id])
    if not found:
        raise ApiError(404, "not_found", f"flow '{name}' has no dead letter {letter_id}")
    return _model(found[0])


@router.post("/replay", dependencies=[Depends(require(Role.deployer))], responses=responses(404, 409),
             summary="Send parked messages back into the running flow")  # fmt: skip
async def replay_dead_letters(
    request: Request, name: Name, body: Annotated[ReplayRequest | None, Body()] = None
) -> ReplayResult:
    manager, store = _store(request, name)
    runtime = manager.runtime(name)
    if runtime is None or not runtime.started:
        raise ApiError(409, "not_running", f"flow '{name}' is not running; start it, then replay")
    ids = body.ids if body else None
    report = await replay(runtime, store, store.select(name, ids or None))
    return ReplayResult(
        selected=report.selected,
        delivered=report.delivered,
        parked_again=report.parked_again,
        failed=report.failed,
    )


@router.delete("", dependencies=[Depends(require(Role.admin))], responses=responses(404), summary="Delete dead letters")
async def purge_dead_letters(
    request: Request, name: Name, id: Annotated[list[RowId] | None, Query(description="Only these")] = None
) -> PurgeResult:
    _, store = _store(request, name)
    return PurgeResult(deleted=store.purge(name, id))
