"""The engine: the set of running flows and the services they share.

`Engine` is what `flowengine run` drives and what an application embeds: it
compiles nothing itself (hand it `CompiledFlow`s), starts each flow's runtime,
and stops them with a drain. Its `app`, plain ASGI, serves every `http.listen`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dsl.diagnostics import has_errors
from flowengine.compile.compiler import CompileResult
from flowengine.compile.graph import CompiledFlow
from flowengine.endpoints.app import make_app
from flowengine.errors import FlowInvalid
from flowengine.runtime.flow import FlowRuntime, Observer
from flowengine.runtime.services import Services

log = logging.getLogger("flowengine.engine")


class Engine:
    def __init__(
        self, services: Services | None = None, *, max_in_flight: int = 256, observe: Observer | None = None
    ) -> None:
        self.services = services or Services()
        self.max_in_flight = max_in_flight
        self.observe = observe  # handed to every runtime: processing times for metrics
        self.flows: dict[str, FlowRuntime] = {}
        self.app = make_app(self.services.http)

    async def deploy(self, flow: CompiledFlow) -> FlowRuntime:
        """Start a compiled flow. A flow of the same name must be undeployed first."""
        if flow.name in self.flows:
            raise ValueError(f"flow '{flow.name}' is already running")
        runtime = FlowRuntime(flow, self.services, max_in_flight=self.max_in_flight, observe=self.observe)
        await runtime.start()
        self.flows[flow.name] = runtime
        return runtime

    async def deploy_all(self, results: Iterable[CompileResult]) -> None:
        results = list(results)
        diagnostics = [d for r in results for d in r.diagnostics]
        if has_errors(diagnostics):
            raise FlowInvalid(diagnostics)
        for result in results:
            for flow in result.flows:
                await self.deploy(flow)

    async def replace(self, flow: CompiledFlow, drain_timeout: float = 30.0) -> FlowRuntime:
        """Swap in a new version of a running flow without losing a message.

        The new version starts first (its HTTP endpoints take over the old ones at once;
        broker consumers briefly compete on the same queue), then the old one stops
        taking messages and drains what it had in flight. Each message is handled by
        exactly one of the two versions.
        """
        old = self.flows.get(flow.name)
        if old is None:
            return await self.deploy(flow)
        runtime = FlowRuntime(flow, self.services, max_in_flight=self.max_in_flight, observe=self.observe)
        try:
            await runtime.start()
        except BaseException:
            await old.reclaim()  # the new version may have taken routes over before it failed
            raise
        self.flows[flow.name] = runtime
        await old.stop(drain_timeout)
        return runtime

    async def undeploy(self, name: str, drain_timeout: float = 30.0) -> None:
        runtime = self.flows.pop(name)
        await runtime.stop(drain_timeout)

    async def stop(self, drain_timeout: float = 30.0) -> None:
        for name in list(self.flows):
            await self.undeploy(name, drain_timeout)
