"""Where the OpenAPI document is, and how to read it."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from bridge.api.queues import PATCH_MEDIA_TYPE

SPEC_PATH = pathlib.Path(__file__).resolve().parents[2] / 'api-ref' / 'openapi.yaml'

__all__ = ['SPEC_PATH', 'PATCH_MEDIA_TYPE', 'load_spec']


def load_spec() -> dict[str, Any]:
    with open(SPEC_PATH, encoding='utf-8') as f:
        return yaml.safe_load(f)
