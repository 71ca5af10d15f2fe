"""The live flow pages of `flowengine serve`: `/ui/flows` and `/ui/flows/{name}`.

The pages themselves are empty frames anyone may load: they hold no data. Their
script asks for a token once, keeps it in the tab's `sessionStorage` (gone with
the tab) and sends it as `Authorization: Bearer`, exactly like any API client;
a token never travels in a URL, so it never lands in access logs, history or a
`Referer`. The drawing (`/ui/flows/{name}/drawing`) and every number on the page
come from endpoints that need a `viewer` token: the drawing here, the counters
from the management API's own `GET /api/flows/{name}`, polled every second.

A strict Content-Security-Policy (scripts and styles from this server only, no
inline code, fetches to this origin only) keeps injected markup inert.
"""

from __future__ import annotations

from fastapi import FastAPI


def mount_ui(app: FastAPI) -> None:
    """Serve the pages on `app`; call before the flows' catch-all routes are mounted."""
    from flowengine.ui.routes import router  # here, not above: the routes use the API's auth, and the API mounts this

    app.include_router(router)
