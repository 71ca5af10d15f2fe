"""Keep resolved `${ENV}` values out of what the API says.

Option values are shown as written, but a message built from a resolved value
(a schema violation quoting the value, a connector error quoting a URL) could
still carry a secret. The API therefore masks, in every diagnostic and error
text it returns for a flow, the value of each environment variable that flow's
source refers to. Short values (under 4 characters) are left alone: they are
no secret, and masking them would garble ordinary words.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
MASK = "***"
MIN_SECRET = 4


class Redactor:
    def __init__(self, source: str, env: Mapping[str, str] = os.environ) -> None:
        names = set(_REFERENCE.findall(source))
        values = {env[n] for n in names if len(env.get(n, "")) >= MIN_SECRET}
        self._values = sorted(values, key=len, reverse=True)  # longest first: no partial leftovers

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self(text)
