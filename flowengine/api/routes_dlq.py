"""Dead letters over the API: list, explain, replay after a fix, purge.

The same operations as `flowengine dlq`, on the running engine's store; replay
sends the parked messages into the running flow at the source they came in by.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from flowengine.api.auth import Role, require
from flowengine.api.errors import ApiError
from flowengine.api.manager import FlowManager
from flowengine.api.models import responses
from flowengine.deadletter.replay import replay
from flowengine.deadletter.store import DeadLetter, DeadLetterStore
from flowengine.services import Services

router = APIRouter(prefix="/api/flows/{name}/dead-letters", tags=["dead letters"])
Name = Annotated[str, Path(max_length=128, description="The flow's name")]


class DeadLetterError(BaseModel):
    type: str
    message: str
    details: list[dict[str, Any]]


class ParkedMessage(BaseModel):
    id: str
    content_type: str
    headers: dict[str, str]
    body_base64: str = Field(description="The body exactly as the source received it")
    size: int


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
    explanation: str = Field(description="The envelope in one sentence")


class ReplayRequest(BaseModel):
    ids: list[int] | None = Field(None, description="Only these dead letters; all parked ones when omitted")


class ReplayResult(BaseModel):
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


@router.get("", dependencies=[Depends(require(Role.viewer))], responses=responses(404), summary="List dead letters")
async def list_dead_letters(
    request: Request,
    name: Name,
    status: Annotated[Literal["parked", "replayed", "all"], Query()] = "parked",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[DeadLetterModel]:
    _, store = _store(request, name)
    return [_model(x) for x in store.list(name, status=None if status == "all" else status, limit=limit)]


@router.get("/{letter_id}", dependencies=[Depends(require(Role.viewer))], responses=responses(404),
            summary="One dead letter, with its explanation")  # fmt: skip
async def show_dead_letter(request: Request, name: Name, letter_id: int) -> DeadLetterModel:
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
    report = await replay(runtime, store, store.get(name, ids) if ids else store.list(name))
    return ReplayResult(delivered=report.delivered, parked_again=report.parked_again, failed=report.failed)


@router.delete("", dependencies=[Depends(require(Role.admin))], responses=responses(404), summary="Delete dead letters")
async def purge_dead_letters(
    request: Request, name: Name, id: Annotated[list[int] | None, Query(description="Only these")] = None
) -> PurgeResult:
    _, store = _store(request, name)
    return PurgeResult(deleted=store.purge(name, id))
