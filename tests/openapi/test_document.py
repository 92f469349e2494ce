"""api-ref/openapi.yaml is a valid OpenAPI 3 document and describes exactly
the routes bridge serves: every URI template of the application's route
table (``create_app`` in bridge/api/app.py) with every HTTP method its
resources answer, and nothing else. A route added without documentation, or documented
without being served, fails here and says which."""

from __future__ import annotations

import re
from typing import Any

import falcon.inspect
import pytest
from oslo_config import cfg
from openapi_spec_validator import validate

from bridge.api import app as api_app
from bridge.storage.base import Storage

from .support import SPEC_PATH

SPEC_DOC = '/'.join(SPEC_PATH.parts[-2:])  # api-ref/openapi.yaml

HTTP_METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch',
                'trace')  # the operations a path item may hold
ERROR_SCHEMA = '#/components/schemas/Error'


def served_operations(conf: cfg.ConfigOpts, storage: Storage) -> set[tuple[str, str]]:
    """(URI template, METHOD) for every responder of the application's
    route table (falcon's own defaults, such as OPTIONS, left out)."""
    app = api_app.create_app(conf, storage)
    return {(route.path, method.method)
            for route in falcon.inspect.inspect_routes(app)
            for method in route.methods if not method.internal}


def documented_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper())
            for path, item in spec['paths'].items()
            for method in item if method in HTTP_METHODS}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method.upper(), op)
            for path, item in spec['paths'].items()
            for method, op in item.items() if method in HTTP_METHODS]


def test_document_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    assert spec['openapi'].startswith('3.')
    validate(spec)  # raises with the offending path when invalid


def test_every_served_route_is_documented(conf: cfg.ConfigOpts, storage: Storage,
                                          spec: dict[str, Any]) -> None:
    missing = served_operations(conf, storage) - documented_operations(spec)
    assert not missing, (
        'These routes of bridge/api/app.py are not in %s; document them '
        '(parameters, body, every status): %s' % (
            SPEC_DOC, ', '.join('%s %s' % (m, p) for p, m in sorted(missing))))


def test_every_documented_route_is_served(conf: cfg.ConfigOpts, storage: Storage,
                                          spec: dict[str, Any]) -> None:
    extra = documented_operations(spec) - served_operations(conf, storage)
    assert not extra, (
        '%s documents routes that bridge/api/app.py does not serve: %s' % (
            SPEC_DOC, ', '.join('%s %s' % (m, p) for p, m in sorted(extra))))


def test_path_parameters_match_the_uri_templates(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        shared = spec['paths'][path].get('parameters', [])
        declared = {p['name'] for p in (resolve(spec, n) for n in
                                        shared + op.get('parameters', []))
                    if p['in'] == 'path'}
        assert declared == set(re.findall(r'{(\w+)}', path)), (method, path)


@pytest.mark.parametrize('status', ['400', '403', '404', '409', '413', '415', '503'])
def test_documented_errors_have_the_title_description_body(
        spec: dict[str, Any], status: str) -> None:
    for path, method, op in operations(spec):
        response = op['responses'].get(status)
        if response is None or method == 'HEAD':
            continue
        response = resolve(spec, response)
        schema = response['content']['application/json']['schema']
        assert schema == {'$ref': ERROR_SCHEMA}, (method, path, status)
    error = spec['components']['schemas']['Error']
    assert error['required'] == ['title', 'description']


def test_every_v2_operation_documents_the_checks_every_request_passes(
        spec: dict[str, Any]) -> None:
    """Client-ID, identity, policy and Accept apply to every /v2 request."""
    for path, method, op in operations(spec):
        if path.startswith('/v2'):
            assert {'400', '401', '403', '406'} <= set(op['responses']), (method, path)


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while '$ref' in node:
        target: Any = spec
        for part in node['$ref'].lstrip('#/').split('/'):
            target = target[part]
        node = target
    return node
