"""Limits on the shape of an XML document, checked while it is read or built.

One message of 1 MB can hold 100,000 attributes on one element or 200,000
siblings; libxml2 parses that in milliseconds, but every step after it that
walks the tree in Python (XML -> JSON, XPath results, HL7 from XML) then takes
seconds to minutes while the engine answers nobody. So every document a
message brings (`flowengine.formats.xmlsafe.parse`) and every tree the engine
builds from a message (`xmljson.from_json`) is counted as it grows and refused
at the first node past a limit, before the rest of it exists:

    limit        default      environment variable
    attributes   1,000        FLOWENGINE_XML_MAX_ATTRIBUTES   on one element
    children     10,000       FLOWENGINE_XML_MAX_CHILDREN     child nodes of one element
    depth        100          FLOWENGINE_XML_MAX_DEPTH        elements nested in each other
    elements     100,000      FLOWENGINE_XML_MAX_ELEMENTS     in the document (comments and PIs count)
    text         10,000,000   FLOWENGINE_XML_MAX_TEXT         characters in one text or comment

The limits are per engine process (the environment is read once), because a
message's parsed tree is shared by every node and expression that reads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from lxml import etree

from flowengine.formats.errors import FormatError

ENV_PREFIX = "FLOWENGINE_XML_MAX_"
SIZE_LIMITS = frozenset({"elements", "text"})
"""Limits on how much there is (HTTP 413), as opposed to how it is shaped (422)."""


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """The most of each thing one document may hold (see the module docstring)."""

    attributes: int = 1_000
    children: int = 10_000
    depth: int = 100
    elements: int = 100_000
    text: int = 10_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> XmlLimits:
        """Defaults, overridden by FLOWENGINE_XML_MAX_<LIMIT>; ValueError names a bad variable."""
        values = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            raw = environ.get(name)
            if raw is None:
                continue
            if not raw.strip().isdigit() or int(raw) < 1:
                raise ValueError(f"{name}={raw!r} is not a positive whole number")
            values[f.name] = int(raw)
        return cls(**values)


@cache
def configured() -> XmlLimits:
    """This process's limits, from the environment (read once)."""
    return XmlLimits.from_env(os.environ)


class XmlLimitExceeded(FormatError):
    """A document goes past one of the limits; `limit` names which."""

    def __init__(self, limit: str, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{message} (limit {ENV_PREFIX}{limit.upper()})", where=where)
        self.limit = limit

    @property
    def too_large(self) -> bool:
        """True for limits on size (elements, text), False for limits on shape."""
        return self.limit in SIZE_LIMITS


Where = str | int | None
"""Where a node is: a JSON pointer, or a line number (an int, worded only when refused)."""


class Tally:
    """Counts one document against `limits` as its nodes arrive; raises at the first one too many.

    The checks run once per node of every XML message: each compares plain
    numbers and words a refusal only when there is one.
    """

    __slots__ = ("elements", "limits")

    def __init__(self, limits: XmlLimits) -> None:
        self.limits = limits
        self.elements = 0

    def node(self, depth: int, position: int, where: Where) -> None:
        """A node at `depth` (the root is 1), the `position`-th child of its parent (1-based)."""
        self.elements += 1
        lim = self.limits
        if self.elements > lim.elements:
            raise XmlLimitExceeded("elements", f"more than {lim.elements} elements", where=_place(where))
        if depth > lim.depth:
            raise XmlLimitExceeded("depth", f"elements nest more than {lim.depth} deep", where=_place(where))
        if position > lim.children:
            raise XmlLimitExceeded("children", f"an element has more than {lim.children} children", where=_place(where))

    def attributes(self, count: int, element: Any, where: Where) -> None:
        """`count` attributes on `element` (an lxml element, or its name)."""
        if count > self.limits.attributes:
            name = element if isinstance(element, str) else etree.QName(element).localname
            raise XmlLimitExceeded(
                "attributes", f"<{name}> has more than {self.limits.attributes} attributes", where=_place(where)
            )

    def text(self, text: str | None, where: Where) -> None:
        if text is not None and len(text) > self.limits.text:
            raise XmlLimitExceeded("text", f"a text of more than {self.limits.text} characters", where=_place(where))


def _place(where: Where) -> str | None:
    return f"line {where}" if isinstance(where, int) else where
