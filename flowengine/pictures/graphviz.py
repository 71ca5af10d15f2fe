"""SVG and PNG pictures through Graphviz's `dot`, from the DOT export.

Graphviz is a system program, not a Python dependency: a missing `dot` is a
one-line message saying how to install it, never a traceback.
"""

from __future__ import annotations

import shutil
import subprocess

MISSING = "Graphviz 'dot' is not installed; apt-get install graphviz (or see https://graphviz.org/download/)"
TIMEOUT = 60.0  # seconds; dot lays out a flow in milliseconds, a hang is a broken install


class PictureError(Exception):
    """A picture cannot be made here (Graphviz missing or failing, several flows for one
    picture); the message is for the user as it stands."""


def render_dot(dot: str, fmt: str) -> bytes:
    """`dot` laid out and rendered as `fmt` ("svg" or "png")."""
    exe = shutil.which("dot")
    if exe is None:
        raise PictureError(MISSING)
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot.encode(), capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise PictureError(f"Graphviz 'dot' could not run: {err}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise PictureError(f"Graphviz 'dot' failed: {reason}")
    return done.stdout
