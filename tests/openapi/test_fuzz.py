"""schemathesis fuzzes a live ``bridge-api`` (a real process, noauth, SQLite)
with requests generated from api-ref/openapi.yaml, valid ones and invalid
ones: no answer may be a server error, and every status must be one the
document lists for the operation.

The number of examples per operation is bounded (``FUZZ_EXAMPLES``) so the
run stays short; ``BRIDGE_FUZZ_EXAMPLES`` raises it for a longer hunt.
"""

from __future__ import annotations

import os

import hypothesis
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.functional.server import BridgeAPI

from .support import SPEC_PATH, PATCH_MEDIA_TYPE

FUZZ_EXAMPLES = int(os.environ.get('BRIDGE_FUZZ_EXAMPLES', '12'))

# Queue PATCH bodies are JSON under Zaqar's own media type.
schemathesis.serializer.alias(PATCH_MEDIA_TYPE, 'application/json')

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(modes=['positive', 'negative'],
                                max_examples=FUZZ_EXAMPLES, database='none')


@schema.parametrize()
@hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                     suppress_health_check=list(hypothesis.HealthCheck),
                     database=None)
def test_api_answers_every_generated_request_as_documented(
        case: schemathesis.Case, noauth_api: BridgeAPI) -> None:
    case.call_and_validate(base_url=noauth_api.url, timeout=10,
                           checks=[not_a_server_error, status_code_conformance])
