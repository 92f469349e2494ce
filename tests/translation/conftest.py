"""Fixtures for translation tests."""

from __future__ import annotations

import pytest

from bridge import translation


@pytest.fixture(scope='session')
def rules() -> translation.Rules:
    """The shipped default rules."""
    return translation.load_rules(translation.default_rules_path())
