"""The files a flow may read: one root per deployment, and a separate allow-list for TLS files.

A flow names files in its options (a template, a JSON Schema, a stylesheet, a
TLS certificate). Whoever deploys the flow chooses those names, and on
`flowengine serve` that is a remote caller with the deployer role, so every
name goes through a `FileRoot`: relative names only, no `..`, nothing that
resolves (symlinks followed) outside the root, nothing under /proc, /sys or
/dev, never the server's own tokens file or state database, and regular files
only (a FIFO or a device could block or leak). A refused name and a missing
one get the same `FileRefused` text, so a deploy cannot probe whether a file
exists, and the text never shows the root's absolute path.

Relative names start at the flow file's folder and are looked up there and in
its parents up to the root, so `flows/x.flow` finds `schemas/order.schema.json`
at the top of a project. TLS files (certificates, keys, CAs) are read only from
the `tls_dirs` the operator lists, never from the files root alone: a key
is not something a deployer should be able to point at.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath

_SYSTEM = tuple(Path(p) for p in ("/proc", "/sys", "/dev"))
TLS_DIRS_ENV = "FLOWENGINE_TLS_DIRS"


class FileRefused(Exception):
    """A name the flow may not read, or that does not exist: one text for both (no existence oracle)."""

    def __init__(self, name: str, what: str = "file") -> None:
        super().__init__(f"{what} '{name}' is not readable from this flow's files root")
        self.name = name


@dataclass(frozen=True)
class FileRoot:
    """Where a flow's files come from. `root` bounds every read; `start` is the flow's folder."""

    root: Path
    start: Path
    denied: frozenset[Path] = frozenset()  # resolved paths never read, even inside the root
    tls_dirs: tuple[Path, ...] = ()  # resolved folders TLS files may come from
    _resolved_root: Path = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_resolved_root", self.root.resolve())

    @classmethod
    def of(
        cls,
        flow_dir: Path | None,
        root: Path | None = None,
        *,
        denied: Iterable[Path] = (),
        tls_dirs: Iterable[Path] | None = None,
    ) -> FileRoot:
        """The CLI's default: the flow's folder, widened to the working directory when the flow lies
        inside it (a project's `flows/` reaching its `schemas/`); TLS files from the flow's folder."""
        start = (flow_dir or Path.cwd()).resolve()
        if root is None:
            cwd = Path.cwd().resolve()
            root = cwd if start.is_relative_to(cwd) else start
        root = root.resolve()
        if not start.is_relative_to(root):
            start = root
        tls = tuple(p.resolve() for p in tls_dirs) if tls_dirs is not None else (start,)
        return cls(root, start, frozenset(_with_sidecars(denied)), tls)

    def at(self, folder: Path) -> FileRoot:
        """The same root, with relative names starting at `folder` (a schema's `$ref`s)."""
        return replace(self, start=folder)

    def resolve(self, name: str, what: str = "file") -> Path:
        """The regular file `name` means, resolved, or `FileRefused`."""
        pure = self._relative(name, what)
        for folder in (self.start, *self.start.parents):
            if not folder.is_relative_to(self._resolved_root):
                break
            found = (folder / pure).resolve()
            if found.is_relative_to(self._resolved_root) and self._allowed(found) and _is_regular(found):
                return found
        raise FileRefused(name, what)

    def read_bytes(self, name: str, what: str = "file") -> tuple[Path, bytes]:
        """Resolve and read in one step; the open refuses a symlink swapped in since `resolve`."""
        path = self.resolve(name, what)
        return path, _read_regular(path, name, what)

    def resolve_tls(self, name: str, what: str = "TLS file") -> Path:
        """A TLS file: the first of the `tls_dirs` that holds it (the files root does not count).
        A name no folder holds yet is returned inside the first folder, so `lint` in CI needs no
        certificates; the node then fails to start naming it. The folders are the operator's own."""
        pure = self._relative(name, what)
        for folder in self.tls_dirs:
            found = (folder / pure).resolve()
            if found.exists() or found.is_symlink():
                if found.is_relative_to(folder) and self._allowed(found) and _is_regular(found):
                    return found
                raise FileRefused(name, what)
        if not self.tls_dirs:
            raise FileRefused(name, what)
        return self.tls_dirs[0] / pure

    @staticmethod
    def _relative(name: str, what: str) -> PurePath:
        pure = PurePath(name)
        if not name or "\x00" in name or pure.is_absolute() or ".." in pure.parts:
            raise FileRefused(name, what)
        return pure

    def _allowed(self, path: Path) -> bool:
        return path not in self.denied and not any(path.is_relative_to(s) for s in _SYSTEM)


def _with_sidecars(paths: Iterable[Path]) -> set[Path]:
    """SQLite keeps a journal and a write-ahead log beside the database: refuse those too."""
    out: set[Path] = set()
    for p in paths:
        r = p.resolve()
        out |= {r, *(r.with_name(r.name + s) for s in ("-wal", "-shm", "-journal"))}
    return out


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _read_regular(path: Path, name: str, what: str) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise FileRefused(name, what) from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise FileRefused(name, what)
        return f.read()


def tls_dirs_from_env(env: Mapping[str, str], given: Iterable[Path] = ()) -> list[Path] | None:
    """`--tls-dir` values, else `FLOWENGINE_TLS_DIRS` (an os.pathsep list); None when neither is set."""
    dirs = list(given)
    if not dirs and env.get(TLS_DIRS_ENV):
        dirs = [Path(p) for p in env[TLS_DIRS_ENV].split(os.pathsep) if p]
    return dirs or None
