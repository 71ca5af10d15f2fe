"""An engine in its own process (`flowengine run`), to kill with SIGKILL or stop with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from pathlib import Path

from tests.conftest import REPO, free_port
from tests.flowengine.test_cli import FLOWENGINE


class EngineProcess:
    def __init__(self, flow_file: Path, state: Path) -> None:
        self.flow_file = flow_file
        self.state = state
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._reader = threading.Thread()

    async def start(self, started_line: str, timeout: float = 30) -> None:
        self.output = []
        self.proc = subprocess.Popen(
            [FLOWENGINE, "run", str(self.flow_file), "--port", str(free_port()), "--state", str(self.state)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not any(started_line in line for line in self.output):
            assert self.proc.poll() is None, "engine exited:\n" + "".join(self.output)
            assert loop.time() < deadline, "engine did not start:\n" + "".join(self.output)
            await asyncio.sleep(0.05)

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """kill -9: no drain, no acks, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self._reap(10)

    def stop(self) -> int:
        """SIGTERM: drain and exit; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self._reap(45)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("engine did not stop on SIGTERM:\n" + "".join(self.output[-30:])) from None

    def _reap(self, timeout: float) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        code = self.proc.wait(timeout)
        self._reader.join(5)
        self.proc.stdout.close()
        return code
