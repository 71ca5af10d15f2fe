"""Deployed flows' lifecycle: deploy, update, roll back, stop, start, pause, resume, delete.

The manager joins the engine (what runs) and the registry (what should run,
and every revision). Each change runs under one lock, so two deploys never
interleave, and in one order: compile, check, change the engine, then record.
A version that fails to start is never recorded, and a crash before the record
leaves the previous revision to be restored on the next start.

A flow's wanted status is `started`, `paused` or `stopped`. A `started` flow
that is not running (it failed to start, e.g. its broker was down at boot) is
shown as `failed` with the reason; `start` tries again. An update of a paused
or stopped flow stores the revision and starts nothing; `resume`/`start` run it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from flowengine.api.compiling import Compiled, compile_for_view, compile_one
from flowengine.api.deployments import Deployment, Deployments, Revision, Wanted, content_hash, now
from flowengine.api.errors import ApiError, not_found
from flowengine.compile.reach import Reach
from flowengine.errors import ConnectorError
from flowengine.runtime.engine import Engine
from flowengine.runtime.flow import FlowRuntime

log = logging.getLogger("flowengine.api")


@dataclass
class Settings:
    max_source_bytes: int = 262_144
    drain_timeout: float = 30.0
    reach: Reach = field(default_factory=lambda: Reach.for_server(":memory:"))  # files, TLS dirs, HTTP allow


@dataclass
class Change:
    """What a deploy, update or rollback did (or, for a dry run, would do)."""

    deployment: Deployment
    compiled: Compiled
    created: bool = False
    changed: bool = True
    dry_run: bool = False


class FlowManager:
    def __init__(
        self, engine: Engine, deployments: Deployments, settings: Settings, forget: Callable[[str], None] | None = None
    ) -> None:
        self.engine = engine
        self.deployments = deployments
        self.settings = settings
        self.failures: dict[str, str] = {}
        self._forget = forget or (lambda _: None)  # drop a deleted flow's metric series
        self._views: dict[str, tuple[str, Compiled]] = {}
        self._lock = asyncio.Lock()

    # --- reading ---------------------------------------------------------------
    def get(self, name: str) -> Deployment:
        found = self.deployments.get(name)
        if found is None:
            raise not_found(name)
        return found

    def runtime(self, name: str) -> FlowRuntime | None:
        return self.engine.flows.get(name)

    def compiled(self, dep: Deployment) -> Compiled:
        """The compiled current revision, for views (cached per revision hash)."""
        cached = self._views.get(dep.name)
        if cached is None or cached[0] != dep.revision.hash:
            compiled = compile_for_view(dep.revision.source, dep.revision.file, self.settings.reach)
            cached = self._views[dep.name] = (dep.revision.hash, compiled)
        return cached[1]

    def check_size(self, source: str) -> None:
        size = len(source.encode())
        if size > self.settings.max_source_bytes:
            raise ApiError(
                413, "too_large", f"flow source is {size} bytes, over the limit of {self.settings.max_source_bytes}"
            )

    def compile(self, source: str, file: str) -> Compiled:
        self.check_size(source)
        return compile_one(source, file, self.settings.reach)

    # --- deploying -------------------------------------------------------------
    async def create(self, compiled: Compiled, source: str, file: str, *, dry_run: bool = False) -> Change:
        name = compiled.flow.name
        async with self._lock:
            existing = self.deployments.get(name)
            if existing is not None:
                raise ApiError(
                    409,
                    "conflict",
                    f"flow '{name}' is already deployed (version {existing.revision.version}); "
                    f"update it with PUT /api/flows/{name}",
                )
            return await self._create(compiled, source, file, dry_run)

    async def _create(self, compiled: Compiled, source: str, file: str, dry_run: bool) -> Change:
        if dry_run:
            return Change(_preview(compiled, source, file, None), compiled, created=True, dry_run=True)
        await self._guard(compiled, self.engine.deploy(compiled.flow))
        dep = self._record(compiled, source, file, reason="deploy", previous=None, status="started")
        return Change(dep, compiled, created=True)

    async def update(
        self, compiled: Compiled, source: str, file: str, *, if_match: str | None, dry_run: bool = False
    ) -> Change:
        name = compiled.flow.name
        async with self._lock:
            current = self.deployments.get(name)
            _check_if_match(name, current, if_match)
            if current is None:
                return await self._create(compiled, source, file, dry_run)
            if current.revision.hash == content_hash(source):
                return Change(current, self.compiled(current), changed=False, dry_run=dry_run)
            if dry_run:
                return Change(_preview(compiled, source, file, current), compiled, dry_run=True)
            await self._swap(current, compiled)
            previous = current.revision.version
            dep = self._record(compiled, source, file, reason="update", previous=previous, status=current.status)
            return Change(dep, compiled)

    async def rollback(self, name: str, version: int | None, if_match: str | None) -> Change:
        async with self._lock:
            current = self.get(name)
            _check_if_match(name, current, if_match)
            wanted = version if version is not None else current.revision.previous
            if wanted is None:
                raise ApiError(409, "conflict", f"flow '{name}' has no earlier revision to roll back to")
            if wanted == current.revision.version:
                raise ApiError(409, "conflict", f"revision {wanted} of flow '{name}' is already current")
            target = self.deployments.revision(name, wanted)
            if target is None:
                raise ApiError(404, "not_found", f"flow '{name}' has no revision {wanted}")
            compiled = self.compile(target.source, target.file)
            await self._swap(current, compiled)
            reason = f"rollback to v{target.version}"
            dep = self._record(
                compiled, target.source, target.file, reason=reason, previous=target.previous, status=current.status
            )
            return Change(dep, compiled)

    async def _swap(self, current: Deployment, compiled: Compiled) -> None:
        """Put the new version in place as the flow's wanted status says."""
        name = current.name
        if current.status == "started":
            await self._guard(compiled, self.engine.replace(compiled.flow, self.settings.drain_timeout))
        elif name in self.engine.flows:  # paused: the old version goes; the new one runs on resume
            await self.engine.undeploy(name, self.settings.drain_timeout)

    def _record(
        self, compiled: Compiled, source: str, file: str, *, reason: str, previous: int | None, status: Wanted
    ) -> Deployment:
        """Make the new revision current, once its version runs (or, paused or stopped, is ready)."""
        dep = self.deployments.record(compiled.flow.name, source, file, reason=reason, previous=previous, status=status)
        self._ran(dep, compiled)
        log.info(
            "flow %s v%d recorded (%s, %s)", dep.name, dep.revision.version, reason, status, extra={"flow": dep.name}
        )
        return dep

    def _ran(self, dep: Deployment, compiled: Compiled) -> None:
        self.failures.pop(dep.name, None)
        self._views[dep.name] = (dep.revision.hash, compiled)

    async def _guard(self, compiled: Compiled, start: Awaitable[object]) -> None:
        """Run an engine start, answering the ways it can fail with their statuses."""
        try:
            await start
        except ValueError as err:  # a route or channel another flow owns
            raise ApiError(409, "conflict", compiled.redact(str(err))) from None
        except (ConnectorError, OSError) as err:
            raise ApiError(
                503, "unavailable", compiled.redact(f"flow '{compiled.flow.name}' could not start: {err}")
            ) from None

    # --- running state ---------------------------------------------------------
    async def stop(self, name: str) -> Deployment:
        async with self._lock:
            self.get(name)
            if name in self.engine.flows:
                await self.engine.undeploy(name, self.settings.drain_timeout)
            self.failures.pop(name, None)
            self.deployments.set_status(name, "stopped")
            return self.get(name)

    async def start(self, name: str, *, resuming: bool = False) -> Deployment:
        async with self._lock:
            dep = self.get(name)
            if resuming and dep.status == "stopped":
                raise ApiError(409, "conflict", f"flow '{name}' is stopped; start it with POST /api/flows/{name}/start")
            runtime = self.runtime(name)
            if runtime is not None:
                await runtime.resume()
            else:
                await self._start_current(dep)
            self.deployments.set_status(name, "started")
            return self.get(name)

    async def resume(self, name: str) -> Deployment:
        return await self.start(name, resuming=True)

    async def _start_current(self, dep: Deployment) -> None:
        compiled = self.compile(dep.revision.source, dep.revision.file)
        await self._guard(compiled, self.engine.deploy(compiled.flow))
        self._ran(dep, compiled)

    async def pause(self, name: str) -> Deployment:
        async with self._lock:
            dep = self.get(name)
            if dep.status == "stopped":
                raise ApiError(409, "conflict", f"flow '{name}' is stopped; start it with POST /api/flows/{name}/start")
            runtime = self.runtime(name)
            if runtime is not None:
                await runtime.pause(self.settings.drain_timeout)
            self.deployments.set_status(name, "paused")
            return self.get(name)

    async def delete(self, name: str) -> None:
        async with self._lock:
            self.get(name)
            if name in self.engine.flows:
                await self.engine.undeploy(name, self.settings.drain_timeout)
            self.deployments.delete(name)
            self.failures.pop(name, None)
            self._views.pop(name, None)
            self._forget(name)

    async def restore(self) -> None:
        """Start every flow whose wanted status is `started`, as recorded; a failure is
        logged and shown as status `failed`, and does not keep the others from starting."""
        async with self._lock:
            for dep in self.deployments.all():
                if dep.status != "started":
                    continue
                try:
                    await self._start_current(dep)
                except ApiError as err:
                    self.failures[dep.name] = err.message
                except Exception as err:
                    self.failures[dep.name] = self.compiled(dep).redact(f"{type(err).__name__}: {err}")
                if dep.name in self.failures:
                    log.error("flow %s (v%d) not restored: %s", dep.name, dep.revision.version, self.failures[dep.name])
                else:
                    log.info("flow %s (v%d) restored", dep.name, dep.revision.version)


def _preview(compiled: Compiled, source: str, file: str, current: Deployment | None) -> Deployment:
    """The deployment a dry run would have made (never stored)."""
    version = current.revision.version + 1 if current else 1
    status = current.status if current else "started"
    revision = Revision(compiled.flow.name, version, content_hash(source), source, file, now(), "dry run", None)
    return Deployment(compiled.flow.name, status, revision.created_at, revision)


def _check_if_match(name: str, current: Deployment | None, if_match: str | None) -> None:
    """RFC 9110 If-Match: `*`, or a list of ETags one of which is the current revision's
    (compared strongly, as the RFC requires: a weak `W/"..."` never matches)."""
    if if_match is None:
        return
    tags = {t.strip() for t in if_match.split(",")}
    if current is not None and ("*" in tags or etag(current.revision.hash) in tags):
        return
    have = f"the current revision is {etag(current.revision.hash)}" if current else "the flow does not exist"
    raise ApiError(412, "precondition_failed", f"If-Match does not match flow '{name}': {have}")


def etag(content: str) -> str:
    return f'"{content}"'
