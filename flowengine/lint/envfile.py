"""Read a dotenv-style file (`KEY=value` lines), the environment `lint --env-file` checks against.

`#` starts a comment line; `export ` before a key is allowed; a value may be
quoted with '...' or "..." (the quotes are dropped, nothing else is decoded).
"""

from __future__ import annotations

import re
from pathlib import Path

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvFileError(ValueError):
    """A line that is not `KEY=value`; the message names the file and line."""


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.fullmatch(key):
            raise EnvFileError(f"{path}:{number}: expected KEY=value, got: {raw.strip()}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env
