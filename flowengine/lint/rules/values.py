"""Rules on what is written inside a declaration: values that silently lose to a later
one (shadowed names), and secrets written in plain text instead of `${ENV}`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dsl import ast
from flowengine.lint.rules.base import Finding, LintContext, Rule

_SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "apikey", "authorization", "credentials"}
_SECRET_JOINED = ("api_key", "api-key", "private_key", "private-key", "client_secret", "access_key")
_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@", re.I)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.I)  # a secret URL option is only secret for its password
_ENV_MARK = "\x00"


# --- shadowed names -----------------------------------------------------------
def _entry_path(entry: ast.MapEntry) -> tuple[str, ...]:
    return (entry.path,) if entry.quoted else tuple(entry.path.split("."))


def _mapping_shadows(decl: ast.NodeDecl) -> Iterator[Finding]:
    entries = list(decl.mapping or ())
    for i, early in enumerate(entries):
        path = _entry_path(early)
        for late in entries[i + 1 :]:
            later = _entry_path(late)
            if path[: len(later)] == later:
                yield Finding(
                    f"field '{early.path}' is overwritten by '{late.path}' (line {late.path_span.line}); "
                    "its value here is lost",
                    early.path_span,
                    "remove one of them, or give them different names",
                )
                break


def _dict_shadows(value: ast.Value) -> Iterator[Finding]:
    if isinstance(value, ast.ListValue):
        for item in value.items:
            yield from _dict_shadows(item)
    elif isinstance(value, ast.DictValue):
        seen: dict[str, ast.Option] = {}
        for opt in value.entries:
            if opt.key in seen:
                first = seen[opt.key]
                yield Finding(
                    f"key '{opt.key}' is given again (line {opt.key_span.line}); the value here is ignored",
                    first.key_span,
                    "remove one of them",
                )
            seen[opt.key] = opt
            yield from _dict_shadows(opt.value)


def shadowed_names(ctx: LintContext) -> Iterator[Finding]:
    for decl in ctx.decls.values():
        if isinstance(decl, ast.NodeDecl):
            yield from _mapping_shadows(decl)
            for opt in decl.options:
                yield from _dict_shadows(opt.value)


# --- plaintext secrets ----------------------------------------------------------
def _secret_key(key: str) -> bool:
    low = key.lower()
    return bool(_SECRET_WORDS & set(re.split(r"[-_.\s]+", low))) or any(j in low for j in _SECRET_JOINED)


def _literal(value: ast.StringValue) -> str:
    """The text written, with each `${ENV}` reference (default included) as one marker."""
    return "".join(p if isinstance(p, str) else _ENV_MARK for p in value.parts)


def _plain_secret(value: ast.StringValue) -> bool:
    text = _literal(value)
    return bool(text.strip()) and _ENV_MARK not in text and "{{" not in text


def _scan(key: str, value: ast.Value, secret: bool) -> Iterator[Finding]:
    """Plain-text secrets under `key`: the value of a secret-named key, or a URL's password."""
    secret = secret or _secret_key(key)
    if isinstance(value, ast.StringValue):
        m = _USERINFO.search(_literal(value))
        if secret and _plain_secret(value) and not _URL.match(_literal(value)):
            env = re.sub(r"\W", "_", key).upper()
            yield Finding(
                f"'{key}' is written in plain text; anyone who can read this file can read it",
                value.span,
                f'read it from the environment: "${{{env}}}"',
            )
        elif m and _ENV_MARK not in m.group(1):
            yield Finding(
                "a URL with a plain-text password",
                value.span,
                'put the password, or the whole URL, in the environment: "amqp://user:${AMQP_PASSWORD}@host/"',
            )
    elif isinstance(value, ast.ListValue):
        for item in value.items:
            yield from _scan(key, item, secret)
    elif isinstance(value, ast.DictValue):
        for opt in value.entries:
            yield from _scan(opt.key, opt.value, secret)


def plaintext_secrets(ctx: LintContext) -> Iterator[Finding]:
    for info in ctx.compiled.infos():
        decl = ctx.decls.get(info.name)
        if not isinstance(decl, ast.NodeDecl):
            continue
        secret_fields = {n for n, f in info.spec.options.items() if f.secret} if info.spec else set()
        for opt in decl.options:
            yield from _scan(opt.key, opt.value, opt.key in secret_fields)


SHADOWED = Rule(
    "W202",
    "a mapping field or dictionary key written twice, so the earlier value is silently lost",
    """\
flow f {
  source in = memory.in()
  transform t = json.map {
      customer.name: body.name
      customer:      body.customer
  }
  sink out = memory.out()
  in -> t -> out
}
""",
    """\
flow f {
  source in = memory.in()
  transform t = json.map {
      customer:      body.customer
      customer.name: body.name
  }
  sink out = memory.out()
  in -> t -> out
}
""",
    shadowed_names,
)

PLAINTEXT_SECRET = Rule(
    "W207",
    "a password, token or key (or a URL with user:password) written in plain text instead of `${ENV}`",
    """\
flow f {
  source in = memory.in()
  sink hook = http.request(url: "https://example.com", headers: {"Authorization": "Bearer s3cr3t"})
  sink failed = log()
  in -> hook
  on error hook -> failed
}
""",
    """\
flow f {
  source in = memory.in()
  sink hook = http.request(url: "https://example.com", headers: {"Authorization": "Bearer ${API_TOKEN:-}"})
  sink failed = log()
  in -> hook
  on error hook -> failed
}
""",
    plaintext_secrets,
)
