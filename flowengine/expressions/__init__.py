"""The sandboxed expression and template language of flows (Jinja2), its fast path
for simple expressions and the per-message work caps.

May import: core, errors, formats.
"""
