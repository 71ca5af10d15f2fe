"""A language server for `.flow` files: `flowengine lint` as you type.

Runs over stdio (`flowengine lsp`) on pygls. On open, change and save it lints the
editor's text with `flowengine.lint.linter.lint_text` — the same compiler and rules as
`flowengine lint`, so the editor and CI never disagree — and publishes the findings
with their codes, severities and hints. Relative paths in a flow (schemas,
templates) resolve against the file's folder, as on the command line. It also
formats a document with `flowengine fmt`'s formatter.

Positions: diagnostics count lines and columns from 1 in characters (code
points); LSP counts from 0 in the encoding the client negotiated (UTF-16 unless
it says otherwise), so each range goes through the document's position codec.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from dsl.diagnostics import Diagnostic, Severity
from dsl.formatter import FormatError, format_text
from flowengine.lint.linter import LintOptions, lint_text

NAME = "flowengine"
VERSION = "1"
_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error, Severity.WARNING: types.DiagnosticSeverity.Warning}


def to_lsp(d: Diagnostic, doc: TextDocument) -> types.Diagnostic:
    """One finding as an LSP diagnostic: 0-based, in the client's position units."""
    start = types.Position(line=d.span.line - 1, character=d.span.col - 1)
    end = types.Position(line=d.span.end_line - 1, character=d.span.end_col - 1)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Diagnostic(
        range=doc.position_codec.range_to_client_units(doc.lines, types.Range(start=start, end=end)),
        message=d.message if d.hint is None else f"{d.message}\nhint: {d.hint}",
        severity=_SEVERITY[d.severity],
        code=d.code,
        source=NAME,
    )


def diagnostics_of(doc: TextDocument, options: LintOptions) -> list[types.Diagnostic]:
    path = to_fs_path(doc.uri) if doc.uri.startswith("file:") else None
    base_dir = Path(path).parent if path else None
    found = lint_text(doc.source, path or doc.uri, base_dir=base_dir, options=options)
    return [to_lsp(d, doc) for d in found]


def create_server(options: LintOptions | None = None) -> LanguageServer:
    """A server linting with `options` (an env file, selected or ignored codes)."""
    options = options or LintOptions()
    server = LanguageServer(NAME, VERSION, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)

    def publish(uri: str) -> None:
        doc = server.workspace.get_text_document(uri)
        params = types.PublishDiagnosticsParams(uri=uri, version=doc.version, diagnostics=diagnostics_of(doc, options))
        server.text_document_publish_diagnostics(params)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        """The whole text in `flowengine fmt`'s layout; nothing while it does not parse."""
        doc = server.workspace.get_text_document(params.text_document.uri)
        try:
            formatted = format_text(doc.source, doc.uri)
        except FormatError:
            return None
        if formatted == doc.source:
            return []
        end = doc.position_codec.position_to_client_units(doc.lines, types.Position(line=len(doc.lines), character=0))
        whole = types.Range(start=types.Position(line=0, character=0), end=end)
        return [types.TextEdit(range=whole, new_text=formatted)]

    return server
