"""schemathesis fuzzes a live ``bridge-api`` (a real process, noauth, SQLite)
with requests generated from api-ref/openapi.yaml: no answer may be a
server error, and every status must be one the document lists for the
operation.

* One operation at a time, with valid and invalid requests (random
  headers, parameters and bodies).
* Sequences that follow the document's links (create a queue, post to it,
  list, claim, get and delete the messages, subscribe, update and confirm
  the subscription, ...), each sequence in a project of its own so each
  step finds what the earlier ones made.

The number of examples is bounded so the run stays short;
``BRIDGE_FUZZ_EXAMPLES`` raises it for a longer hunt.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Iterator

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.functional.conftest import sqlite_options
from tests.functional.server import BridgeAPI

from .support import PATCH_MEDIA_TYPE, SPEC_PATH

FUZZ_EXAMPLES = int(os.environ.get('BRIDGE_FUZZ_EXAMPLES', '12'))
CHECKS = [not_a_server_error, status_code_conformance]
SETTINGS = hypothesis.settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
    suppress_health_check=list(hypothesis.HealthCheck))

# Queue PATCH bodies are JSON under Zaqar's own media type.
schemathesis.serializer.alias(PATCH_MEDIA_TYPE, 'application/json')

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(modes=['positive', 'negative'],
                                max_examples=FUZZ_EXAMPLES, database='none')

@pytest.fixture(scope='module')
def fuzz_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeAPI]:
    """A noauth bridge-api whose long polls last at most 1 s (``[limits]
    max_wait``): a documented ``wait`` of up to 20 s on an empty queue would
    outlast the fuzz's 10 s client timeout; longer ones are refused with
    the documented 400."""
    workdir = tmp_path_factory.mktemp('bridge-fuzz')
    options = sqlite_options(workdir)
    options['limits'] = {'max_wait': '1'}
    server = BridgeAPI(workdir, options).start()
    yield server
    server.stop()


@schema.parametrize()
@SETTINGS
def test_every_operation_answers_as_documented(
        case: schemathesis.Case, fuzz_api: BridgeAPI) -> None:
    case.call_and_validate(base_url=fuzz_api.url, timeout=10, checks=CHECKS)


def test_sequences_along_the_documented_links_answer_as_documented(
        fuzz_api: BridgeAPI) -> None:
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each sequence starts in a new, empty project, so that replaying
            # it (as Hypothesis does) meets the same state.
            self.headers = {'X-Project-Id': 'fuzz-' + uuid.uuid4().hex,
                            'Client-ID': str(uuid.uuid4())}

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {'base_url': fuzz_api.url, 'timeout': 10,
                    'headers': self.headers}

        def validate_response(self, response: Any, case: schemathesis.Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=hypothesis.settings(
        SETTINGS, max_examples=max(FUZZ_EXAMPLES // 2, 1), stateful_step_count=12))
