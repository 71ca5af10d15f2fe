"""The event loop the long-running commands use: uvloop where it is installed.

uvloop (libuv) roughly halves the engine's per-message CPU in the broker and HTTP
benchmarks (docs/performance.md), and uvicorn picks httptools next to it for
parsing HTTP. Without them the standard asyncio loop runs the same code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on uvloop when available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
