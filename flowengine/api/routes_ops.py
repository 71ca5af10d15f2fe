"""Lint, health, readiness and metrics.

`/healthz` and `/readyz` answer without a token, because orchestrators probe
them without one; they say nothing beyond flow names and states. `/metrics`
needs a `viewer` token (Prometheus sends one with `authorization` in its scrape
config), as does `POST /api/lint`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from flowengine.api.auth import Role, require
from flowengine.api.bodies import OPENAPI_BODY, flow_text
from flowengine.api.compiling import DEFAULT_FILE, compile_source, report_json
from flowengine.api.manager import FlowManager
from flowengine.api.models import Health, LintReportModel, Readiness, responses
from flowengine.api.views import readiness
from flowengine.lint.linter import LintOptions, lint_result

router = APIRouter()
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.post(
    "/api/lint",
    tags=["flows"],
    response_model_exclude_none=True,
    dependencies=[Depends(require(Role.viewer))],
    responses=responses(413, 415, 422),
    openapi_extra=OPENAPI_BODY,
    summary="Compile and lint flow text; start nothing",
    description="Answers 200 with the report of `flowengine lint --format json` (warnings included), errors or "
    "not; 422 with that report when a text/plain body is not UTF-8 (E005).",
)
async def lint(request: Request) -> LintReportModel:
    manager: FlowManager = request.app.state.manager
    text = await flow_text(request, request.app.state.max_body_bytes)
    manager.check_size(text.source)
    file = text.file or DEFAULT_FILE
    result, redact = compile_source(text.source, file, manager.settings.reach)
    diagnostics = lint_result(result, LintOptions())  # the CLI's rules, all of them
    return LintReportModel.model_validate(report_json(result, file, redact, diagnostics))


@router.get("/healthz", tags=["operations"], summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["operations"],
    summary="Every started flow runs and every connection is up",
    responses={503: {"model": Readiness, "description": "Some flow is not ready"}},
)
async def readyz(request: Request) -> Any:
    manager: FlowManager = request.app.state.manager
    flows = [readiness(manager, d) for d in manager.deployments.all() if d.status == "started"]
    body = Readiness(ready=all(f.ready for f in flows), flows=flows)
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get(
    "/metrics",
    tags=["operations"],
    dependencies=[Depends(require(Role.viewer))],
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}}, **responses()},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS_TEXT)
