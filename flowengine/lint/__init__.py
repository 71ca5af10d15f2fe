"""`flowengine lint`: the rules (rules/), their output formats, the generated
docs/diagnostics.md, the language server and .env files.

May import: dsl, compile, core, expressions, errors. Never runtime, api, cli.
"""
