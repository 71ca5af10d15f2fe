"""What a flow may reach outside itself, as the operator configured it: files and HTTP targets.

One `Reach` per engine (or per CLI run) goes into every compile. The CLI's
defaults suit one person running their own flows; `serve` passes a stricter
one, since its flows come from remote deployers (see docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from flowengine.compile.files import FileRoot
from flowengine.compile.netallow import HttpPolicy


@dataclass(frozen=True)
class Reach:
    files_root: Path | None = None  # None: the flow's folder (or the working directory holding it)
    tls_dirs: tuple[Path, ...] | None = None  # None: the flow's folder
    denied: tuple[Path, ...] = ()  # the server's own files: tokens, state database
    http: HttpPolicy = field(default_factory=HttpPolicy)

    def files_for(self, flow_dir: Path | None) -> FileRoot:
        return FileRoot.of(flow_dir, self.files_root, denied=self.denied, tls_dirs=self.tls_dirs)

    @classmethod
    def for_server(
        cls,
        state: Path | str,
        *,
        files_root: Path | None = None,
        tls_dirs: tuple[Path, ...] = (),
        denied: tuple[Path, ...] = (),
        http: HttpPolicy | None = None,
    ) -> Reach:
        """`serve`'s reach: files from `files_root`, default a `files` folder beside the state
        database; TLS files only from `tls_dirs` (none by default); the state database (and the
        tokens file, in `denied`) never readable; message-built URLs need an allow-list."""
        state_file = None if str(state) == ":memory:" else Path(state)
        root = files_root or (state_file.parent if state_file else Path.cwd()) / "files"
        own_files = (*denied, *((state_file,) if state_file else ()))
        return cls(root, tls_dirs, own_files, replace(http or HttpPolicy(), strict=True))
