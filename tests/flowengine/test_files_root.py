"""`flowengine.compile.files`: what a flow may read, and one answer for missing and refused files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile.compiler import compile_text
from flowengine.compile.files import FileRefused, FileRoot
from flowengine.compile.reach import Reach
from flowengine.core.message import Message
from flowengine.errors import ValidationFailed

SCHEMA = '{"type": "object"}'
REFUSED = "file '%s' is not readable from this flow's files root"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """root/flows/x.flow beside root/schemas/order.json, a secret outside the root, and a link to it."""
    root = tmp_path / "root"
    (root / "flows").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "schemas" / "order.json").write_text(SCHEMA)
    (tmp_path / "secret.json").write_text('{"secret": true}')
    (root / "flows" / "out.json").symlink_to(tmp_path / "secret.json")
    (root / "flows" / "in.json").symlink_to(root / "schemas" / "order.json")
    return root


def root_of(project: Path, **kwargs: object) -> FileRoot:
    return FileRoot.of(project / "flows", project, **kwargs)  # type: ignore[arg-type]


def test_a_name_is_looked_up_from_the_flow_folder_up_to_the_root(project: Path) -> None:
    files = root_of(project)
    assert files.resolve("schemas/order.json") == (project / "schemas" / "order.json").resolve()
    assert files.read_bytes("in.json")[1] == SCHEMA.encode()  # a link that stays inside is fine


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../../etc/shadow",
        "schemas/../../secret.json",
        "../secret.json",
        "out.json",  # a link inside the folder that points out of the root
        "/proc/self/environ",
        "nope.json",  # missing: the same answer as refused
        "",
        "a\x00b",
    ],
)
def test_refused_and_missing_names_get_one_text(project: Path, name: str) -> None:
    with pytest.raises(FileRefused) as caught:
        root_of(project).resolve(name)
    assert str(caught.value) == REFUSED % name
    assert str(project) not in str(caught.value)


def test_the_parent_search_stops_at_the_root(project: Path) -> None:
    (project.parent / "above.json").write_text(SCHEMA)
    with pytest.raises(FileRefused):
        root_of(project).resolve("above.json")


def test_the_servers_own_files_are_refused_even_inside_the_root(project: Path) -> None:
    (project / "state.db").write_text("sqlite")
    (project / "state.db-wal").write_text("wal")
    (project / "tokens.json").write_text('{"t": "admin"}')
    files = root_of(project, denied=(project / "state.db", project / "tokens.json"))
    for name in ("state.db", "state.db-wal", "tokens.json"):
        with pytest.raises(FileRefused):
            files.resolve(name)


def test_a_fifo_is_refused_without_blocking(project: Path) -> None:
    os.mkfifo(project / "flows" / "pipe.json")
    with pytest.raises(FileRefused):
        root_of(project).read_bytes("pipe.json")


def test_a_root_of_slash_still_refuses_proc_sys_and_dev(tmp_path: Path) -> None:
    files = FileRoot.of(Path("/"), Path("/"))
    for name in ("proc/self/environ", "sys/kernel/hostname", "dev/zero"):
        with pytest.raises(FileRefused):
            files.resolve(name)


def test_the_cli_default_root_is_the_flow_folder_outside_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "shared.json").write_text(SCHEMA)
    files = FileRoot.of(tmp_path / "flows")  # the tests run from the repository: tmp_path is outside it
    assert files.root == (tmp_path / "flows").resolve()
    with pytest.raises(FileRefused):
        files.resolve("shared.json")


def test_tls_files_come_only_from_the_tls_folders(project: Path, tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    tls.mkdir()
    (tls / "engine.pem").write_text("PEM")
    (tls / "out.pem").symlink_to(tmp_path / "secret.json")
    files = root_of(project, tls_dirs=(tls,))
    assert files.resolve_tls("engine.pem") == (tls / "engine.pem").resolve()
    assert files.resolve_tls("later.pem") == tls.resolve() / "later.pem"  # checked when the node starts
    for name in ("/etc/ssl/private/key.pem", "../secret.json", "out.pem"):
        with pytest.raises(FileRefused):
            files.resolve_tls(name)
    with pytest.raises(FileRefused):
        root_of(project, tls_dirs=()).resolve_tls("engine.pem")  # `serve` without --tls-dir: none at all


FLOW = """flow f {
  source in = memory.in()
  transform t = %s
  sink out = memory.out()
  in -> t -> out
}
"""


@pytest.mark.parametrize(
    "node",
    [
        'json.validate(schema: "%s")',
        'template(file: "%s")',
        'xml.xslt(file: "%s")',
        'xml.validate(schema: "%s")',
    ],
)
def test_every_file_option_goes_through_the_root(project: Path, node: str) -> None:
    for name in ("/etc/passwd", "../../etc/passwd", "out.json", "nope.json"):
        result = compile_text(FLOW % (node % name), "t.flow", env={}, base_dir=project / "flows",
                              reach=Reach(files_root=project))
        (d,) = result.diagnostics
        assert (d.code, d.message) == ("E150", REFUSED % name)


def test_a_schema_ref_cannot_leave_the_root(project: Path, tmp_path: Path) -> None:
    (tmp_path / "string.json").write_text('{"type": "string"}')
    (project / "schemas" / "evil.json").write_text('{"$ref": "../../string.json"}')
    (project / "schemas" / "inner.json").write_text('{"type": "string"}')
    (project / "schemas" / "good.json").write_text('{"$ref": "inner.json"}')

    def validator(name: str) -> Any:
        result = compile_text(FLOW % f'json.validate(schema: "schemas/{name}")', "t.flow", env={},
                              base_dir=project / "flows", reach=Reach(files_root=project))
        assert result.ok
        return result.flows[0].info("t").runtime

    with pytest.raises(ValidationFailed, match="is not of type 'string'"):  # a $ref inside the root is read
        validator("good.json").process(Message(b"{}", content_type="application/json"))
    with pytest.raises(Exception, match=r"Unresolvable: \.\./\.\./string\.json"):  # one outside is not
        validator("evil.json").process(Message(b"{}", content_type="application/json"))


def test_a_tls_file_outside_the_tls_folders_is_e155_naming_the_option(project: Path) -> None:
    flow = """flow f {
  source lab = mllp.listen(port: 2575, tls: {certfile: "/etc/ssl/private/mllp.pem"})
  sink out = memory.out()
  lab -> out
}
"""
    (d,) = compile_text(flow, "t.flow", env={}, base_dir=project / "flows", reach=Reach(files_root=project)).diagnostics
    assert d.code == "E155"
    assert d.message == "TLS file '/etc/ssl/private/mllp.pem' (tls.certfile) is not readable from the server's TLS folders"


XSD = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">%s<xs:element name="order" type="xs:string"/></xs:schema>'


def test_an_xsd_include_is_read_through_the_root(project: Path, tmp_path: Path) -> None:
    secret = XSD.replace("order", "secret") % ""
    (tmp_path / "outside.xsd").write_text(secret)
    (project / "schemas" / "inner.xsd").write_text(secret)
    (project / "schemas" / "evil.xsd").write_text(XSD % f'<xs:include schemaLocation="{tmp_path}/outside.xsd"/>')
    (project / "schemas" / "good.xsd").write_text(XSD % '<xs:include schemaLocation="inner.xsd"/>')

    def compiled(name: str) -> Any:
        return compile_text(FLOW % f'xml.validate(schema: "schemas/{name}")', "t.flow", env={},
                            base_dir=project / "flows", reach=Reach(files_root=project))

    (d,) = compiled("evil.xsd").diagnostics  # the outside file is never read: the include is empty
    assert (d.code, d.message) == ("E150", "schema does not compile: Document is empty, line 1, column 1")
    good = compiled("good.xsd")
    assert good.ok
    body = Message(b"<secret>x</secret>", content_type="application/xml")
    assert good.flows[0].info("t").runtime.process(body) is body  # type: ignore[union-attr]
