"""A token with the deployer role, over the real HTTP API, tries to read the server's files and to
use `http.request` as a proxy (issue 19). Every attempt is refused and reads nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from flowengine.compile.netallow import HttpPolicy
from flowengine.compile.reach import Reach
from tests.api.conftest import TOKENS, ApiServer
from tests.conftest import free_port

TEXT = {"content-type": "text/plain"}
REFUSED = "file '%s' is not readable from this flow's files root"
# Outside the root, a link out of it, the kernel's view of the process, the server's own files, a missing file.
NAMES = (
    "/etc/passwd",
    "../../etc/shadow",
    "../outside.json",
    "schemas/../../outside.json",
    "link.json",
    "/proc/self/environ",
    "tokens.json",
    "state.db",
    "nope.json",
)
FILE_OPTIONS = (
    'template(file: "%s")',
    'json.validate(schema: "%s")',
    'xml.xslt(file: "%s")',
    'xml.validate(schema: "%s")',
)


class Service:
    """A loopback HTTP service that counts its calls; `size` bytes of answer, streamed in 1 MiB chunks."""

    def __init__(self, size: int = 0, *, declared: bool = False, redirect: str | None = None) -> None:
        self.size = size
        self.declared = declared  # send Content-Length up front
        self.redirect = redirect  # answer 302 to here instead
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:  # a bare ASGI app
        if scope["type"] != "http":
            return
        self.calls += 1
        if self.redirect is not None:
            await send({"type": "http.response.start", "status": 302, "headers": [(b"location", self.redirect.encode())]})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"text/plain")]
        if self.declared:
            headers.append((b"content-length", str(self.size).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        left = self.size or len(b"TOP-SECRET")
        while left > 0:
            chunk = min(left, 1 << 20)
            left -= chunk
            body = b"TOP-SECRET" if not self.size else b"x" * chunk
            await send({"type": "http.response.body", "body": body, "more_body": left > 0})


async def serving(app: Service) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def secret() -> AsyncIterator[tuple[Service, str]]:
    app = Service()
    async for url in serving(app):
        yield app, url


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    """`serve --files-root files` with its state database and tokens file inside that root (a careless
    but possible layout), a secret beside the root and a link to /etc/passwd inside it."""
    root = tmp_path / "files"
    (root / "schemas").mkdir(parents=True)
    (root / "schemas" / "ok.json").write_text('{"type": "object"}')
    (root / "tokens.json").write_text('{"admin-token-3": "admin"}')
    (root / "link.json").symlink_to("/etc/passwd")
    (tmp_path / "outside.json").write_text('{"secret": "TOP-SECRET"}')
    api = ApiServer(root / "state.db")
    own = HttpPolicy(own=(("127.0.0.1", api.port),))
    api.settings.reach = Reach.for_server(api.state, files_root=root, denied=(root / "tokens.json",), http=own)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def deployer(server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client("deployer") as client:
        yield client


def flow(node: str, name: str = "probe") -> str:
    role = "sink" if node.startswith("http.request") else "transform"
    return f"""flow {name} {{
  source web = http.listen(path: "/{name}")
  {role} t = {node}
  sink answer = http.reply()
  web -> t -> answer
}}
"""


async def refusal(client: httpx.AsyncClient, text: str) -> dict[str, object]:
    resp = await client.post("/api/flows", content=text, headers=TEXT)
    assert resp.status_code == 422, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("option", FILE_OPTIONS)
async def test_no_file_option_reads_outside_the_root_and_missing_looks_like_refused(
    deployer: httpx.AsyncClient, server: ApiServer, option: str
) -> None:
    for name in NAMES:
        body = await refusal(deployer, flow(option % name))
        (diag,) = body["diagnostics"]  # type: ignore[index]
        assert (diag["code"], diag["message"]) == ("E150", REFUSED % name)
        text = str(body)
        assert "root:" not in text and "TOP-SECRET" not in text and "admin" not in text
        assert str(server.state.parent) not in text  # the root's absolute path is never shown
    ok = await deployer.post("/api/flows", content=flow('json.validate(schema: "schemas/ok.json")'), headers=TEXT)
    assert ok.status_code == 201, ok.text  # a file inside the root still deploys


async def test_tls_files_come_only_from_the_servers_tls_folders(deployer: httpx.AsyncClient) -> None:
    for name in ("/etc/ssl/private/server.key", "tokens.json", "schemas/ok.json"):
        text = f"""flow lab {{
  source in = mllp.listen(port: {free_port()}, tls: {{certfile: "{name}"}})
  sink out = memory.out()
  in -> out
}}
"""
        (diag,) = (await refusal(deployer, text))["diagnostics"]  # type: ignore[index]
        assert diag["code"] == "E155" and "(tls.certfile)" in diag["message"]


async def test_a_message_built_url_needs_an_allow_list_on_serve(deployer: httpx.AsyncClient) -> None:
    text = flow('http.request(url: "{{ body.url }}", method: "GET")')
    (diag,) = (await refusal(deployer, text))["diagnostics"]  # type: ignore[index]
    assert diag["code"] == "E154"


async def test_the_callers_authorization_is_never_forwarded(deployer: httpx.AsyncClient, server: ApiServer) -> None:
    node = f'http.request(url: "{server.url}/api/flows", headers: {{"Authorization": "{{{{ headers.authorization }}}}"}})'
    codes = [d["code"] for d in (await refusal(deployer, flow(node)))["diagnostics"]]  # type: ignore[index]
    assert codes == ["E153"]


async def test_a_constant_url_to_the_engines_own_api_is_refused(deployer: httpx.AsyncClient, server: ApiServer) -> None:
    for url in (f"{server.url}/api/flows", f"http://localhost:{server.port}/api/tokens"):
        (diag,) = (await refusal(deployer, flow(f'http.request(url: "{url}", method: "GET")')))["diagnostics"]  # type: ignore[index]
        assert diag["code"] == "E152" and "this engine's own address" in diag["message"]


async def test_a_message_cannot_steer_an_allowed_node_to_a_secret_or_to_the_api(
    deployer: httpx.AsyncClient, server: ApiServer, secret: tuple[Service, str]
) -> None:
    service, base = secret
    node = f'http.request(url: "{{{{ body.url }}}}", method: "GET", allow: ["{base}/public"], timeout: 5)'
    assert (await deployer.post("/api/flows", content=flow(node), headers=TEXT)).status_code == 201
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anonymous:
        for url in (f"{base}/secret", f"{base}/public-not", f"{server.url}/api/flows", "file:///etc/passwd"):
            resp = await anonymous.post("/probe", json={"url": url}, headers={"authorization": f"Bearer {TOKENS['admin']}"})
            assert resp.status_code == 502, resp.text
            assert "refused" in resp.json()["error"]["message"]
        assert service.calls == 0
        allowed = await anonymous.post("/probe", json={"url": f"{base}/public/x"})
    assert allowed.status_code == 200 and allowed.content == b"TOP-SECRET" and service.calls == 1


@pytest.mark.parametrize("declared", [False, True], ids=["streamed", "content-length"])
async def test_a_50_mb_answer_is_refused(deployer: httpx.AsyncClient, server: ApiServer, declared: bool) -> None:
    big = Service(size=50 << 20, declared=declared)
    async for base in serving(big):
        node = f'http.request(url: "{base}/big", method: "GET", timeout: 10)'
        assert (await deployer.post("/api/flows", content=flow(node), headers=TEXT)).status_code == 201
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as anonymous:
            resp = await anonymous.post("/probe", json={})
        assert resp.status_code == 502, resp.text[:200]
        assert resp.json()["error"]["message"].endswith("the answer is over max_response_bytes (10485760)")


async def test_a_redirect_is_not_followed_to_where_the_flow_does_not_say(
    deployer: httpx.AsyncClient, server: ApiServer, secret: tuple[Service, str]
) -> None:
    service, target = secret
    bouncer = Service(redirect=f"{target}/secret")
    async for base in serving(bouncer):
        node = f'http.request(url: "{base}/go", method: "GET", timeout: 5)'
        assert (await deployer.post("/api/flows", content=flow(node), headers=TEXT)).status_code == 201
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as anonymous:
            resp = await anonymous.post("/probe", json={})
        assert resp.status_code == 502 and resp.json()["error"]["message"].endswith("/go answered 302")
    assert bouncer.calls == 1 and service.calls == 0
