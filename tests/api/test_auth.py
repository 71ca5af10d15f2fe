"""Authentication: the token table, and every endpoint against every kind of caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from flowengine.api import Role, Tokens
from flowengine.api.auth import NO_TOKENS, TokenConfigError, digest
from tests.api.conftest import TOKENS, ApiServer, echo_flow

TEXT = {"content-type": "text/plain"}

# (method, path, least role or None for public, request keyword arguments, status when allowed)
ENDPOINTS = [
    ("GET", "/api/flows", Role.viewer, {}, 200),
    ("POST", "/api/flows", Role.deployer, {"content": echo_flow("1", "other", "/other"), "headers": TEXT}, 201),
    ("GET", "/api/flows/echo", Role.viewer, {}, 200),
    ("PUT", "/api/flows/echo", Role.deployer, {"content": echo_flow("3"), "headers": TEXT}, 200),
    ("DELETE", "/api/flows/echo", Role.admin, {}, 204),
    ("POST", "/api/flows/echo/rollback", Role.deployer, {}, 200),
    ("POST", "/api/flows/echo/stop", Role.deployer, {}, 200),
    ("POST", "/api/flows/echo/start", Role.deployer, {}, 200),
    ("POST", "/api/flows/echo/pause", Role.deployer, {}, 200),
    ("POST", "/api/flows/echo/resume", Role.deployer, {}, 200),
    ("GET", "/api/flows/echo/graph", Role.viewer, {}, 200),
    ("GET", "/api/flows/echo/revisions", Role.viewer, {}, 200),
    ("GET", "/api/flows/echo/revisions/1", Role.viewer, {}, 200),
    ("POST", "/api/lint", Role.viewer, {"content": echo_flow("1"), "headers": TEXT}, 200),
    ("GET", "/metrics", Role.viewer, {}, 200),
    ("GET", "/healthz", None, {}, 200),
    ("GET", "/readyz", None, {}, 200),
    ("GET", "/openapi.json", None, {}, 200),
]
CALLERS = ["anonymous", "bad-token", "viewer", "deployer", "admin"]


async def _with_echo(server: ApiServer) -> ApiServer:
    """Exactly two revisions of `echo` and nothing else, deployed straight through the manager."""
    manager = server.parts.manager  # type: ignore[union-attr]
    for dep in manager.deployments.all():
        await manager.delete(dep.name)
    for tag in "12":
        text = echo_flow(tag)
        await manager.update(manager.compile(text, "echo.flow"), text, "echo.flow", if_match=None)
    return server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiServer]:
    """One server for the whole matrix (starting one per case would dominate the run time)."""
    server = await ApiServer(tmp_path_factory.mktemp("auth") / "state.db").start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def served(shared: ApiServer) -> ApiServer:
    return await _with_echo(shared)


def expected(least: Role | None, caller: str, allowed: int) -> int:
    if least is None:
        return allowed
    if caller in ("anonymous", "bad-token"):
        return 401
    return allowed if Role[caller] >= least else 403


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "least", "kwargs", "allowed"), ENDPOINTS, ids=lambda v: v if isinstance(v, str) else None
)
async def test_auth_matrix(served, method, path, least, kwargs, allowed, caller):
    token = {"anonymous": None, "bad-token": "not-a-token"}.get(caller, TOKENS.get(caller))
    async with served.client(None, token=token) as client:
        resp = await client.request(method, path, **kwargs)
    assert resp.status_code == expected(least, caller, allowed), resp.text
    if resp.status_code == 401:
        assert resp.headers["www-authenticate"].startswith("Bearer")
        message = "a bearer token is required" if caller == "anonymous" else "the token is not valid"
        assert resp.json() == {"error": {"type": "unauthorized", "message": message}}
    if resp.status_code == 403:
        assert resp.json()["error"]["message"] == f"role '{caller}' may not do this; it needs '{least.name}' or above"


async def test_without_tokens_the_api_is_closed_but_flows_serve(tmp_path):
    server = await _with_echo(await ApiServer(tmp_path / "state.db", tokens=Tokens()).start())
    try:
        async with server.client("admin") as client:
            for method, path, least, kwargs, allowed in ENDPOINTS:
                resp = await client.request(method, path, **kwargs)
                if least is None:
                    assert resp.status_code == allowed
                else:
                    assert resp.status_code == 503, path
                    assert resp.json() == {"error": {"type": "auth_not_configured", "message": NO_TOKENS}}
            assert (await client.post("/echo", json={"a": 1})).json() == {"a": 1, "version": "2"}
    finally:
        await server.stop()


# --- the token table ----------------------------------------------------------------------
def test_tokens_are_kept_hashed_and_matched_by_digest():
    tokens = Tokens({"plain": "viewer", f"sha256:{digest('hashed').upper()}": "admin"})
    assert "plain" not in repr(vars(tokens))
    assert tokens.role_of("plain") is Role.viewer
    assert tokens.role_of("hashed") is Role.admin
    assert tokens.role_of("sha256:" + digest("hashed")) is None  # the digest itself is no token
    assert tokens.role_of("") is None and len(tokens) == 2


def test_tokens_from_file_or_environment(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text('{"from-file": "deployer"}')
    assert Tokens.load(path, env={}).role_of("from-file") is Role.deployer
    assert Tokens.load(None, env={"FLOWENGINE_TOKENS_FILE": str(path)}).role_of("from-file") is Role.deployer
    assert Tokens.load(None, env={"FLOWENGINE_TOKENS": '{"from-env": "admin"}'}).role_of("from-env") is Role.admin
    assert len(Tokens.load(None, env={})) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "tokens.json: not valid JSON"),
        ('["t"]', 'tokens.json: expected a JSON object {"<token>": "<role>"}'),
        ('{"t": 3}', 'tokens.json: expected a JSON object {"<token>": "<role>"}'),
        ('{"t": "root"}', "tokens.json: role 'root' is not one of viewer, deployer, admin"),
        ('{"sha256:abc": "admin"}', "tokens.json: 'sha256:' must be followed by 64 hex digits"),
    ],
)
def test_bad_token_files_are_refused_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "tokens.json"
    path.write_text(content)
    with pytest.raises(TokenConfigError) as err:
        Tokens.load(path, env={})
    assert str(err.value).replace(str(tmp_path) + "/", "").startswith(message)


def test_missing_token_file(tmp_path):
    with pytest.raises(TokenConfigError, match=r"cannot read tokens file .*: No such file or directory"):
        Tokens.load(tmp_path / "none.json", env={})
