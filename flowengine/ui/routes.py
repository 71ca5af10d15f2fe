"""The routes of the live pages: the two page frames, the drawing, the assets."""

from __future__ import annotations

from functools import cache
from html import escape
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import RedirectResponse, Response

from flowengine.api.auth import Role, require
from flowengine.api.errors import ApiError
from flowengine.api.models import FLOW_NAME
from flowengine.pictures.drawing import drawing
from flowengine.pictures.export import to_json
from flowengine.pictures.page import LEGEND, asset, document

PREFIX = "/ui"
POLL_SECONDS = 1.0
PAGE_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}
TOKEN_FORM = (
    '<form id="token-form" class="token" hidden><label for="token">Viewer token</label>'
    '<input id="token" type="password" autocomplete="off" spellcheck="false" required>'
    '<button type="submit">Show</button><p id="token-note" class="note" role="status"></p>'
    '<p class="note">Kept in this tab\'s sessionStorage only, sent as a bearer token.</p></form>'
    '<p id="problem" class="problem" role="alert" hidden></p>'
)

Name = Annotated[str, Path(pattern=FLOW_NAME, max_length=128)]


@cache
def _own(name: str) -> str:
    return files("flowengine.ui").joinpath("assets", name).read_text(encoding="utf-8")


_ASSETS = {
    "flowgraph.css": ("text/css", lambda: asset("flowgraph.css")),
    "flowgraph.js": ("text/javascript", lambda: asset("flowgraph.js")),
    "live.css": ("text/css", lambda: _own("live.css")),
    "live.js": ("text/javascript", lambda: _own("live.js")),
}


def _page(title: str, body: str, **data: str) -> Response:
    attrs = "".join(f' data-{k}="{escape(v, quote=True)}"' for k, v in data.items())
    head = "\n".join(f'<link rel="stylesheet" href="{PREFIX}/assets/{n}">' for n in ("flowgraph.css", "live.css"))
    tail = "\n".join(f'<script src="{PREFIX}/assets/{n}"></script>' for n in ("flowgraph.js", "live.js"))
    html = document(title, body, head=head, tail=tail, attrs=attrs)
    return Response(html, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


def _header(title: str) -> str:
    return (
        f'<header><button id="forget" class="forget" type="button" hidden>Forget token</button>'
        f'<h1>{escape(title)}</h1><p id="description" class="description"></p>'
        '<p id="meta" class="meta"></p></header>'
    )


router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("")
async def home() -> Response:
    return RedirectResponse(f"{PREFIX}/flows")


@router.get("/flows")
async def index_page() -> Response:
    body = f'{_header("Deployed flows")}<main>{TOKEN_FORM}<div id="flows" class="flows"></div></main>'
    return _page("Deployed flows", body, page="index", poll=str(POLL_SECONDS))


@router.get("/flows/{name}")
async def flow_page(name: Name) -> Response:
    body = (
        f"{_header(name)}<main>{TOKEN_FORM}{LEGEND}"
        '<div id="canvas" class="canvas live" aria-live="off"></div>'
        f'<p class="note"><a href="{PREFIX}/flows">All flows</a></p></main>'
    )
    return _page(name, body, page="flow", flow=name, poll=str(POLL_SECONDS))


@router.get("/flows/{name}/drawing", dependencies=[Depends(require(Role.viewer))])
async def flow_drawing(name: Name, request: Request) -> Response:
    """The current revision drawn with empty counter rows (the page fills them in)."""
    manager = request.app.state.manager
    compiled = manager.compiled(manager.get(name))
    svg = drawing(to_json(compiled.flow), live=True)
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-store"})


@router.get("/assets/{file}")
async def ui_asset(file: str) -> Response:
    if file not in _ASSETS:
        raise ApiError(404, "not_found", f"no UI asset {file}")
    media_type, read = _ASSETS[file]
    return Response(read(), media_type=f"{media_type}; charset=utf-8", headers={"x-content-type-options": "nosniff"})
