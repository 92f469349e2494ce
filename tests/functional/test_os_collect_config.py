"""os-collect-config's ``zaqar`` collector (the agent Heat's servers run to
fetch their software-deployment metadata), unchanged, in REST mode against a
keystone-mode bridge-api: it logs in to the real Keystone with its user id
and password, finds bridge as the ``messaging`` endpoint of the catalog,
pops one message from its queue and hands on the message body."""

from __future__ import annotations

import configparser
import json
import os
import pathlib
import subprocess
import sys
import uuid
from typing import Any

import requests

from .keystone import Keystone, User
from .server import BridgeAPI

TIMEOUT = 120


def collector_config(path: pathlib.Path, keystone: Keystone, user: User,
                     queue: str, region: str) -> pathlib.Path:
    parser = configparser.ConfigParser(interpolation=None)
    parser['DEFAULT'] = {'collectors': 'zaqar',
                         'cachedir': str(path / 'cache'),
                         'backup_cachedir': str(path / 'backup-cache')}
    parser['zaqar'] = {'auth_url': keystone.auth_url,
                       'user_id': user.user_id,
                       'password': user.password,
                       'project_id': user.project_id,
                       'queue_id': queue,
                       'region_name': region}
    # Its own token and catalog cache, so no other run's catalog is reused.
    parser['keystone'] = {'cache_dir': str(path / 'keystone-cache')}
    config = path / 'os-collect-config.conf'
    with open(config, 'w') as f:
        parser.write(f)
    return config


def collect_once(config: pathlib.Path) -> dict[str, Any]:
    """``os-collect-config --one-time --print``: what it collected."""
    executable = pathlib.Path(sys.executable).parent / 'os-collect-config'
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    proc = subprocess.run([str(executable), '--config-file', str(config),
                           '--one-time', '--print'],
                          env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_zaqar_collector_fetches_deployment_metadata_from_bridge(
        keystone: Keystone, keystone_api: BridgeAPI, tmp_path: pathlib.Path) -> None:
    region = keystone.register_endpoint('messaging', keystone_api.url)
    user = keystone.create_user('heat-agent')
    queue = 'deployments-' + uuid.uuid4().hex[:8]
    metadata = {'deployments': [{'name': 'config-' + uuid.uuid4().hex[:8],
                                 'group': 'script', 'inputs': [],
                                 'config': 'echo hello'}],
                'os-collect-config': {'collectors': ['zaqar']}}
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Auth-Token': keystone.token(user)}
    posted = requests.post(f'{keystone_api.url}/v2/queues/{queue}/messages',
                           headers=headers, timeout=30,
                           json={'messages': [{'body': metadata, 'ttl': 600}]})
    assert posted.status_code == 201, posted.text

    collected = collect_once(collector_config(tmp_path, keystone, user, queue, region))

    assert collected == {'zaqar': metadata}
    # The collector popped the message: the queue is now empty.
    stats = requests.get(f'{keystone_api.url}/v2/queues/{queue}/stats',
                         headers=headers, timeout=30)
    assert stats.status_code == 200, stats.text
    assert stats.json()['messages']['total'] == 0
