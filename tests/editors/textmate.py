"""A small TextMate tokenizer, enough to test editors/flowengine.tmLanguage.json in pytest.

It follows vscode-textmate's rules for what the grammar uses: `match` and
`begin`/`end` rules, `include` of the repository, `name`, `contentName`,
`captures`/`beginCaptures`/`endCaptures`; at each position the earliest match
wins, an end pattern before the rules of its block, then the rules in order.
Regexes run on Python's `re`, so the grammar keeps to the subset Oniguruma and
Python share (the test compiles every one of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

Scopes = tuple[str, ...]


@dataclass(frozen=True)
class Token:
    line: int  # 0-based
    start: int
    end: int
    scopes: Scopes


@dataclass
class _Frame:
    rules: list[dict[str, Any]]
    end: re.Pattern[str] | None
    scopes: Scopes
    rule: dict[str, Any] | None


@cache
def _regex(source: str) -> re.Pattern[str]:
    return re.compile(source)


class Grammar:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.repository: dict[str, Any] = data["repository"]

    def regexes(self) -> list[str]:
        """Every regex in the grammar."""
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                found.extend(node[k] for k in ("match", "begin", "end") if isinstance(node.get(k), str))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.data)
        return found

    def _flatten(self, patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for p in patterns:
            if "include" in p:
                target = p["include"]
                rule = {"patterns": self.data["patterns"]} if target == "$self" else self.repository[target[1:]]
                out.extend(self._flatten([rule]))
            elif "match" in p or "begin" in p:
                out.append(p)
            else:
                out.extend(self._flatten(p["patterns"]))
        return out

    def tokenize(self, text: str) -> tuple[list[Token], int]:
        """The tokens of `text`, and how many blocks were still open at its end."""
        root = (self.data["scopeName"],)
        stack = [_Frame(self._flatten(self.data["patterns"]), None, root, None)]
        tokens: list[Token] = []
        for number, line in enumerate(text.splitlines(keepends=True)):
            pos = steps = 0
            while pos < len(line):
                frame = stack[-1]
                best: tuple[int, int, re.Match[str], dict[str, Any] | None] | None = None
                if frame.end is not None and (m := frame.end.search(line, pos)):
                    best = (m.start(), -1, m, None)
                for order, rule in enumerate(frame.rules):
                    m = _regex(rule.get("match") or rule["begin"]).search(line, pos)
                    if m and (best is None or (m.start(), order) < best[:2]):
                        best = (m.start(), order, m, rule)
                if best is None:
                    tokens.append(Token(number, pos, len(line), frame.scopes))
                    break
                start, _, m, rule = best
                if start > pos:
                    tokens.append(Token(number, pos, start, frame.scopes))
                if rule is None:  # the block ends
                    assert frame.rule is not None
                    outer = frame.scopes[: len(frame.scopes) - len(frame.rule.get("contentName", "").split())]
                    tokens += _captured(number, m, outer, frame.rule.get("endCaptures", {}))
                    stack.pop()
                elif "match" in rule:
                    tokens += _captured(number, m, _plus(frame.scopes, rule.get("name")), rule.get("captures", {}))
                else:
                    scopes = _plus(frame.scopes, rule.get("name"))
                    tokens += _captured(number, m, scopes, rule.get("beginCaptures", {}))
                    content = _plus(scopes, rule.get("contentName"))
                    stack.append(_Frame(self._flatten(rule.get("patterns", [])), _regex(rule["end"]), content, rule))
                if m.end() > pos:
                    pos = m.end()
                elif rule is not None and "match" in rule:  # an empty match: step over one character
                    tokens.append(Token(number, pos, pos + 1, frame.scopes))
                    pos += 1
                steps += 1
                assert steps < 100 * len(line) + 100, f"the grammar loops on line {number + 1}: {line!r}"
        return tokens, len(stack) - 1


def _plus(scopes: Scopes, name: str | None) -> Scopes:
    return (*scopes, *name.split()) if name else scopes


def _captured(line: int, m: re.Match[str], scopes: Scopes, captures: dict[str, Any]) -> list[Token]:
    """The match as tokens: each captured group gets its own scope on top of `scopes`."""
    if m.start() == m.end():
        return []
    groups = sorted(
        (m.start(int(g)), m.end(int(g)), c["name"]) for g, c in captures.items() if m.group(int(g)) and int(g) > 0
    )
    out, pos = [], m.start()
    whole = _plus(scopes, captures["0"]["name"]) if "0" in captures else scopes
    for start, end, name in groups:
        if start > pos:
            out.append(Token(line, pos, start, whole))
        out.append(Token(line, start, end, _plus(whole, name)))
        pos = end
    if pos < m.end():
        out.append(Token(line, pos, m.end(), whole))
    return out


def scopes_at(tokens: list[Token], line: int, col: int) -> Scopes:
    """The scopes of the character at 0-based (line, col)."""
    for t in tokens:
        if t.line == line and t.start <= col < t.end:
            return t.scopes
    raise AssertionError(f"no token at {line}:{col}")
