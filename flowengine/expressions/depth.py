"""Refuse expressions and templates nested deeper than Jinja and Python can compile.

Jinja's parser recurses once per bracket, `not` and `else`; its code generator,
`meta.find_undeclared_variables`, `fastexpr` and `Node.find_all` recurse once per
level of the syntax tree, so `a + a + ... + a` nests as deep as it is long; the
Python source it generates stops at 200 nested parentheses, 100 indents and 20
nested loops. Past those come RecursionError, SyntaxError or IndentationError.
`check` runs first: one pass over Jinja's own tokens (its lexer does not
recurse), computing an upper bound of the tree's depth (each bracket or block
opens a level; each operator inside a level may nest once more), and raises
`NestingTooDeep`, a `TemplateSyntaxError`, so every caller's handler of bad
syntax reports it (as E004).
"""

from __future__ import annotations

import jinja2

MAX_BRACKETS = 32
"""Brackets open at once, as in flow text (`dsl.nesting`)."""
MAX_BLOCKS = 16
"""`{% for %}`, `{% if %}`, ... open at once (Python allows 20 nested loops)."""
MAX_DEPTH = 64
"""The bound of the syntax tree's depth: brackets, blocks and operators."""

_OPEN = {"(": ")", "[": "]", "{": "}"}
_OPERATORS = {"+", "-", "*", "/", "//", "%", "**", "|", ".", "~"}
_WORD_OPERATORS = {"and", "or", "not", "is", "if", "else", "in"}
_BLOCKS = {"for", "if", "macro", "call", "filter", "with", "block", "autoescape", "trans", "set"}
_OPERANDS = {"name", "string", "integer", "float"}


class NestingTooDeep(jinja2.TemplateSyntaxError):
    """An expression or template nested past one of this module's limits."""


class _Level:
    __slots__ = ("block", "child", "ops")

    def __init__(self, block: bool) -> None:
        self.block, self.ops, self.child = block, 0, 0


def check(env: jinja2.Environment, source: str, *, expression: bool) -> None:
    """Raise NestingTooDeep when `source` nests too deep; bad syntax is left to Jinja's parser."""
    text = "{{ " + source + " }}" if expression else source
    stack = [_Level(block=False)]
    brackets = blocks = 0
    previous = ""
    after_block_begin = pending_set = False
    for lineno, kind, value in env.lexer.tokeniter(text, None):
        if kind == "whitespace":
            continue
        word = value if kind == "name" else ""
        if kind == "block_begin":
            after_block_begin = True
            continue
        if after_block_begin:
            after_block_begin = False
            if word.startswith("end") and len(stack) > 1 and stack[-1].block:
                _close(stack)
                blocks -= 1
            elif word == "set":
                pending_set = True  # a block only if no `=` follows: `{% set x %}...{% endset %}`
            elif word in _BLOCKS:
                blocks += 1
                stack.append(_Level(block=True))
                _limit(blocks > MAX_BLOCKS, f"more than {MAX_BLOCKS} blocks open at once", lineno)
            continue
        if kind == "operator" and value == "=":
            pending_set = False
        elif kind == "block_end" and pending_set:
            pending_set = False
            blocks += 1
            stack.append(_Level(block=True))
            _limit(blocks > MAX_BLOCKS, f"more than {MAX_BLOCKS} blocks open at once", lineno)
        elif kind == "operator" and value in _OPEN:
            if previous in _OPERANDS or previous in _OPEN.values():
                stack[-1].ops += 1  # a call or a subscript: wraps what came before
            brackets += 1
            stack.append(_Level(block=False))
            _limit(brackets > MAX_BRACKETS, f"more than {MAX_BRACKETS} brackets open at once", lineno)
        elif kind == "operator" and value in _OPEN.values() and len(stack) > 1 and not stack[-1].block:
            _close(stack)
            brackets -= 1
        elif (kind == "operator" and value in _OPERATORS) or word in _WORD_OPERATORS:
            stack[-1].ops += 1
        previous = value if kind == "operator" else kind
        depth = sum(1 + level.ops for level in stack) + stack[-1].child
        _limit(depth > MAX_DEPTH, f"more than {MAX_DEPTH} levels of brackets and operators", lineno)


def _close(stack: list[_Level]) -> None:
    done = stack.pop()
    stack[-1].child = max(stack[-1].child, 1 + done.ops + done.child)


def _limit(exceeded: bool, what: str, lineno: int) -> None:
    if exceeded:
        raise NestingTooDeep(f"nesting too deep: {what}", lineno)
