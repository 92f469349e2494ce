"""Fixtures for ``bridge-manage`` tests: a configuration file on a real
SQLite database, the notification samples, and a runner for the command as
an operator types it."""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
import uuid
from typing import Iterator

import pytest
import yaml

from bridge import storage as bridge_storage
from bridge import translation
from bridge.storage import base, models
from tests.listeners.conftest import load_samples, make_conf

BIN = pathlib.Path(sys.executable).parent
DEAD_PROJECT = 'ops-admin'
DEAD_QUEUE = 'unroutable'


@dataclasses.dataclass
class Setup:
    """One configuration file and the storage it names."""

    path: pathlib.Path
    url: str
    store: base.Storage

    def manage(self, *args: str, timeout: float = 120
               ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / 'bridge-manage'), '--config-file', str(self.path),
             *args], capture_output=True, text=True, timeout=timeout)

    def letters(self) -> list[models.Message]:
        return self.store.list_messages(DEAD_PROJECT, DEAD_QUEUE, limit=1000,
                                        echo=True, include_claimed=True
                                        ).messages


def write_conf(path: pathlib.Path, url: str, extra: str = '') -> None:
    path.write_text('[storage]\nurl = %s\n[listener]\n'
                    'dead_letter_project = %s\ndead_letter_queue = %s\n%s'
                    % (url, DEAD_PROJECT, DEAD_QUEUE, extra))


@pytest.fixture
def setup(tmp_path: pathlib.Path) -> Iterator[Setup]:
    url = 'sqlite:///%s' % (tmp_path / 'bridge.sqlite')
    store = bridge_storage.from_url(url, make_conf(url))
    store.ensure_schema()
    path = tmp_path / 'bridge.conf'
    write_conf(path, url)
    yield Setup(path, url, store)
    store.close()


@pytest.fixture(scope='session')
def samples() -> list[dict]:
    """The notification samples, each with its own message_id (two
    fixtures share one, and the listener rightly stores an id once)."""
    return [dict(s, message_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                              s['fixture'])))
            for s in load_samples()]


def narrowed_rules(tmp_path: pathlib.Path) -> translation.Rules:
    """The default rules with the catch-all route limited to Nova's
    versioned instance events: everything else is unroutable, as after a
    rules mistake an operator later fixes."""
    with open(translation.default_rules_path()) as f:
        doc = yaml.safe_load(f)
    for route in doc['routes']:
        if route.get('name') == 'per-service':
            route['match'] = {'event_type': 'instance.*'}
    path = tmp_path / 'narrow-rules.yaml'
    path.write_text(yaml.safe_dump(doc))
    return translation.load_rules(str(path))
