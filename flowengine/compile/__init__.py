"""From a parsed flow (dsl) to a checked graph: node kind specs and their registry,
option values, policies, the build context and the graph itself; the files root and the
http allow-list that bound what a flow may read or call.

May import: dsl, core, expressions, formats, errors. Never runtime, api, cli, lint.
"""
