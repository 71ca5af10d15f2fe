"""The codes the parser and compiler report, documented like the lint rules.

These run on every compile (so `flowengine run` refuses what lint reports as an
error); the entries here only describe them, each with a flow that shows it and
the same flow fixed. The tests run every example.
"""

from __future__ import annotations

from flowengine.lint.rules.base import Rule


def _flow(body: str) -> str:
    """A small flow around `body` (indented lines of declarations and edges)."""
    return "flow f {\n" + body + "}\n"


_IO = "  source in = memory.in()\n  sink out = memory.out()\n"
_OK = _flow(_IO + "  in -> out\n")
_IN = "  source in = memory.in()\n"

ENV_FILE = Rule(
    "E141",
    "with `--env-file`: an environment variable the file does not define (and no default is given)",
    _flow('  source in = memory.in()\n  sink out = log(message: "${LOG_PREFIX} {{ id }}")\n  in -> out\n'),
    _flow('  source in = memory.in()\n  sink out = log(message: "${LOG_PREFIX:-order} {{ id }}")\n  in -> out\n'),
)

CATALOGUE: tuple[Rule, ...] = (
    Rule("E000", "the file cannot be read (missing, not UTF-8)", None),
    Rule("E001", "syntax error: what was expected and what was found; near-miss keywords suggested; an "
         "unclosed bracket named, with where it was opened, at the place its closer belongs",
         _flow(_IO + "  in => out\n"), _OK),
    Rule("E002", "malformed string: unknown escape, bad `\\u`, malformed `${...}`",
         _flow('  source in = memory.in(channel: "a\\q")\n  sink out = memory.out()\n  in -> out\n'),
         _flow('  source in = memory.in(channel: "a\\\\q")\n  sink out = memory.out()\n  in -> out\n')),
    Rule("E003", "`when`/`else` arms on a node that is not declared as a `branch`",
         _flow(_IO + "  transform route {\n      when body.a -> out\n      else -> out\n  }\n  in -> route\n"),
         _flow(_IO + "  branch route {\n      when body.a -> out\n      else -> out\n  }\n  in -> route\n")),
    Rule("E004", "nesting too deep: over 32 brackets in flow text, or an expression or template past its limits "
         "(32 brackets, 16 blocks, 64 levels of operators)", None),
    Rule("E005", "not UTF-8 at byte N (the file's bytes, or a lone surrogate in text from an editor)", None),
    Rule("E006", "number out of range: an integer beyond 64 bits or a number that overflows",
         _flow("  source in = memory.in(max_message_bytes: 1e999)\n  sink out = memory.out()\n  in -> out\n"),
         _flow("  source in = memory.in(max_message_bytes: 1000000)\n  sink out = memory.out()\n  in -> out\n")),
    Rule("E101", "unknown node kind (with \"did you mean\")",
         _flow("  source in = memory.in()\n  sink out = memory.ot()\n  in -> out\n"), _OK),
    Rule("E102", "unknown or repeated option (with \"did you mean\")",
         _flow('  source in = memory.in(chanel: "orders")\n  sink out = memory.out()\n  in -> out\n'),
         _flow('  source in = memory.in(channel: "orders")\n  sink out = memory.out()\n  in -> out\n')),
    Rule("E103", "an option's value does not fit the kind's option schema",
         _flow("  source in = memory.in(channel: 5)\n  sink out = memory.out()\n  in -> out\n"),
         _flow('  source in = memory.in(channel: "5")\n  sink out = memory.out()\n  in -> out\n')),
    Rule("E104", "a required option is missing (or options that go together are not given together)",
         _flow(_IO + "  transform check = json.validate()\n  in -> check -> out\n"),
         _flow(_IO + '  transform check = json.validate(schema: "schemas/order.schema.json")\n  in -> check -> out\n')),
    Rule("E105", "the declared role (source, transform, branch, sink) is not the kind's role",
         _flow("  source in = memory.in()\n  transform out = memory.out()\n  in -> out\n"), _OK),
    Rule("E106", "a mapping block is missing, or given to a kind that takes none",
         _flow(_IO + "  transform t = json.map()\n  in -> t -> out\n"),
         _flow(_IO + "  transform t = json.map { id: body.id }\n  in -> t -> out\n")),
    Rule("E107", "a `${VAR}` value does not convert to the option's type (integer, number, boolean); "
                 "the variable is named, its value never shown",
         _flow('  source in = mllp.listen(port: "${MLLP_PORT:-any}")\n  sink out = memory.out()\n  in -> out\n'),
         _flow('  source in = mllp.listen(port: "${MLLP_PORT:-2575}")\n  sink out = memory.out()\n  in -> out\n')),
    Rule("E110", "an edge, arm or error route names an undefined node (with \"did you mean\")",
         _flow(_IO + "  in -> ot\n"), _OK),
    Rule("E111", "a node or flow name is declared twice",
         _flow(_IO + "  sink out = memory.out()\n  in -> out\n"), _OK),
    Rule("W112", "the same edge is written twice", _flow(_IO + "  in -> out\n  in -> out\n"), _OK),
    Rule("E113", "an edge into a source (sources only send)",
         _flow(_IO + "  source other = memory.in()\n  in -> other\n  other -> out\n"),
         _flow(_IO + "  source other = memory.in()\n  in -> out\n  other -> out\n")),
    Rule("E114", "a plain edge out of a branch that routes with arms",
         _flow(_IO + "  branch route {\n      when body.a -> out\n      else -> out\n  }\n  in -> route -> out\n"),
         _flow(_IO + "  branch route {\n      when body.a -> out\n      else -> out\n  }\n  in -> route\n")),
    Rule("E115", "a node runs (calls) itself, a source or a branch",
         _flow(_IO + '  transform tap = wiretap(to: "in")\n  in -> tap -> out\n'),
         _flow(_IO + '  transform tap = wiretap(to: "audit")\n  sink audit = log()\n  in -> tap -> out\n')),
    Rule("E120", "a node no source reaches",
         _flow(_IO + "  transform t = json.map { a: 1 }\n  in -> out\n  t -> out\n"),
         _flow(_IO + "  transform t = json.map { a: 1 }\n  in -> t -> out\n")),
    Rule("E121", "a node that is not a sink has no way out (its messages would vanish)",
         _flow(_IO + "  transform t = json.map { a: 1 }\n  in -> t\n  in -> out\n"),
         _flow(_IO + "  transform t = json.map { a: 1 }\n  in -> t -> out\n")),
    Rule("E122", "a cycle (messages would loop forever)",
         _flow(_IO + "  transform a = json.map { a: 1 }\n  transform b = json.map { b: 1 }\n"
                     "  in -> a -> b -> a\n  b -> out\n"),
         _flow(_IO + "  transform a = json.map { a: 1 }\n  transform b = json.map { b: 1 }\n  in -> a -> b -> out\n")),
    Rule("E123", "a branch without `else` (a message matching no arm would be lost)",
         _flow(_IO + "  branch route {\n      when body.a -> out\n  }\n  in -> route\n"),
         _flow(_IO + "  branch route {\n      when body.a -> out\n      else -> out\n  }\n  in -> route\n")),
    Rule("E124", "a flow without a source", _flow("  sink out = memory.out()\n"), _OK),
    Rule("E130", "an expression (or an XPath, in the XML kinds) does not compile: syntax, unknown filter or name",
         _flow(_IO + "  transform t = json.map { id: body.id | lowr }\n  in -> t -> out\n"),
         _flow(_IO + "  transform t = json.map { id: body.id | lower }\n  in -> t -> out\n")),
    Rule("E132", "a constant expression whose value is over a work cap (FLOWENGINE_EXPR_MAX_TEXT, _ITEMS, _INT_DIGITS)",
         _flow(_IO + "  transform t = json.map { pad: \"-\" * 10 ** 9 }\n  in -> t -> out\n"),
         _flow(_IO + "  transform t = json.map { pad: \"-\" * 10 }\n  in -> t -> out\n")),
    Rule("E131", "a template does not compile",
         _flow(_IO + '  transform t = template(text: "Hello {{ body.name ")\n  in -> t -> out\n'),
         _flow(_IO + '  transform t = template(text: "Hello {{ body.name }}")\n  in -> t -> out\n')),
    Rule("E140", "an environment variable is not set and no default is given (or is empty, for a required option)",
         ENV_FILE.example, ENV_FILE.fixed),
    ENV_FILE,
    Rule("E150", "a file an option names (schema, template, stylesheet) is missing or refused (outside the "
                 "files root; one text for both), or does not compile",
         _flow(_IO + '  transform check = json.validate(schema: "/etc/passwd")\n  in -> check -> out\n'),
         _flow(_IO + '  transform check = json.validate(schema: "schemas/order.schema.json")\n  in -> check -> out\n')),
    Rule("E151", "a schema file is not valid JSON, or not a valid JSON Schema",
         _flow(_IO + '  transform check = json.validate(schema: "README.md")\n  in -> check -> out\n'),
         _flow(_IO + '  transform check = json.validate(schema: "schemas/order.schema.json")\n  in -> check -> out\n')),
    Rule("E152", "`http.request`: a constant url names the engine's own address (its API or HTTP server)",
         _flow(_IN + '  sink call = http.request(url: "http://127.0.0.1:8080/api/flows")\n  in -> call\n'),
         _flow(_IN + '  sink call = http.request(url: "http://crm.example.com/api/flows")\n  in -> call\n')),
    Rule("E153", "`http.request`: an Authorization, Cookie or Proxy-Authorization header filled from message data",
         _flow(_IN + '  sink call = http.request(url: "https://crm.example.com/x",\n'
                     '                           headers: {"Authorization": "{{ headers.authorization }}"})\n'
                     '  in -> call\n'),
         _flow(_IN + '  sink call = http.request(url: "https://crm.example.com/x",\n'
                     '                           headers: {"Authorization": "Bearer ${CRM_TOKEN:-t}"})\n'
                     '  in -> call\n')),
    Rule("E154", "`flowengine serve`: an `http.request` url built from message data with no allow-list "
                 "(the node's `allow:` or the server's `--http-allow`); W210 elsewhere", None),
    Rule("E155", "a TLS file (certfile, keyfile, CA) outside the server's TLS folders (`--tls-dir`)",
         _flow('  source lab = mllp.listen(port: 2575, tls: {certfile: "/etc/ssl/private/mllp.pem"})\n'
               '  sink out = memory.out()\n  lab -> out\n'),
         _flow('  source lab = mllp.listen(port: 2575, tls: {certfile: "tls/mllp.pem"})\n'
               '  sink out = memory.out()\n  lab -> out\n')),
    Rule("W210", "`http.request`: a url built from message data with no allow-list: whoever writes the message "
                 "chooses where it goes (on `serve` this is E154)",
         _flow(_IN + '  sink call = http.request(url: "{{ body.callback }}")\n  in -> call\n'),
         _flow(_IN + '  sink call = http.request(url: "{{ body.callback }}", allow: ["https://hooks.example.com/"])\n'
                     '  in -> call\n')),
)  # fmt: skip
