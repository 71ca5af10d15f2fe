"""A bounded schemathesis run against the OpenAPI schema `flowengine serve` publishes.

Every operation gets generated valid (positive) and invalid (negative) requests
with an admin token, and every default check runs on each answer: no 5xx, every
status and content type documented, every body valid against its schema,
invalid input refused. Only "schema-valid input is accepted" is off, since most
strings that satisfy `type: string` are not a valid flow (422 is the right answer),
and "invalid input is refused" is off for text/plain bodies, which are always text.
Generation is derandomised, so CI runs the same cases every time.
"""

from __future__ import annotations

import collections

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.api.conftest import HELLO, TOKENS, echo_flow, serve_process, write_tokens

MAX_EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
AUTH = {"authorization": f"Bearer {TOKENS['admin']}"}
NOT_CHECKED = [positive_data_acceptance]  # a schema-valid string is rarely a valid .flow: 422 is right
# A "non-string" body sent as text/plain is still text (the integer 155 arrives as the string "155"),
# so POST /api/lint rightly lints it: no invalid text/plain body exists to be rejected.
NOT_CHECKED_FOR_TEXT = [*NOT_CHECKED, negative_data_rejection]


def test_no_generated_request_breaks_the_api(tmp_path):
    with serve_process(tmp_path, "--tokens", str(write_tokens(tmp_path)), "--log-level", "error") as (_, url):
        for text in (HELLO, echo_flow("1")):  # something for the name-based operations to find
            assert httpx.post(f"{url}/api/flows", content=text, headers=AUTH).status_code == 201
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        statuses: collections.Counter[int] = collections.Counter()
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode, examples in MAX_EXAMPLES.items():

                @settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case: schemathesis.Case) -> None:
                    response = case.call(base_url=url, headers=AUTH)
                    statuses[response.status_code] += 1
                    excluded = NOT_CHECKED_FOR_TEXT if case.media_type == "text/plain" else NOT_CHECKED
                    case.validate_response(response, headers=AUTH, excluded_checks=excluded)

                try:
                    run()
                except Unsatisfiable:  # an operation without parameters or body has no invalid form
                    assert mode is GenerationMode.NEGATIVE
    cases = sum(statuses.values())
    print(f"schemathesis: {operations} operations, {cases} requests, statuses {dict(sorted(statuses.items()))}")
    assert operations == 21 and cases > 300
    assert not [s for s in statuses if s >= 500]
