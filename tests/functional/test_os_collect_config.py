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
import time
import uuid
from typing import Any

import requests

from .keystone import Keystone, User
from .server import BridgeAPI

TIMEOUT = 120


def collector_config(path: pathlib.Path, keystone: Keystone, user: User,
                     queue: str, region: str,
                     websockets: bool = False) -> pathlib.Path:
    parser = configparser.ConfigParser(interpolation=None)
    parser['DEFAULT'] = {'collectors': 'zaqar',
                         'cachedir': str(path / 'cache'),
                         'backup_cachedir': str(path / 'backup-cache')}
    parser['zaqar'] = {'auth_url': keystone.auth_url,
                       'user_id': user.user_id,
                       'password': user.password,
                       'project_id': user.project_id,
                       'queue_id': queue,
                       'region_name': region,
                       'use_websockets': str(websockets).lower()}
    # Its own token and catalog cache, so no other run's catalog is reused.
    parser['keystone'] = {'cache_dir': str(path / 'keystone-cache')}
    config = path / 'os-collect-config.conf'
    with open(config, 'w') as f:
        parser.write(f)
    return config


def _collector(config: pathlib.Path) -> subprocess.Popen[str]:
    """``os-collect-config --one-time --print``, started."""
    executable = pathlib.Path(sys.executable).parent / 'os-collect-config'
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    return subprocess.Popen([str(executable), '--config-file', str(config),
                             '--one-time', '--print'],
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def _collected(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


def collect_once(config: pathlib.Path) -> dict[str, Any]:
    """``os-collect-config --one-time --print``: what it collected."""
    return _collected(_collector(config))


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


def _metadata() -> dict[str, Any]:
    return {'deployments': [{'name': 'config-' + uuid.uuid4().hex[:8],
                             'group': 'script', 'inputs': [],
                             'config': 'echo hello'}],
            'os-collect-config': {'collectors': ['zaqar']}}


def test_zaqar_collector_over_websocket_pops_what_is_already_queued(
        keystone: Keystone, keystone_api: BridgeAPI,
        tmp_path: pathlib.Path) -> None:
    """``use_websockets = true``: the collector finds bridge as the
    ``messaging-websocket`` endpoint, subscribes its socket and pops."""
    region = keystone.register_endpoint('messaging-websocket',
                                        keystone_api.ws_url)
    user = keystone.create_user('heat-agent-ws')
    queue = 'deployments-' + uuid.uuid4().hex[:8]
    metadata = _metadata()
    headers = {'Client-ID': str(uuid.uuid4()),
               'X-Auth-Token': keystone.token(user)}
    posted = requests.post(f'{keystone_api.url}/v2/queues/{queue}/messages',
                           headers=headers, timeout=30,
                           json={'messages': [{'body': metadata, 'ttl': 600}]})
    assert posted.status_code == 201, posted.text

    collected = collect_once(collector_config(
        tmp_path, keystone, user, queue, region, websockets=True))

    assert collected == {'zaqar': metadata}


def test_zaqar_collector_over_websocket_gets_a_message_posted_while_it_waits(
        keystone: Keystone, keystone_api: BridgeAPI,
        tmp_path: pathlib.Path) -> None:
    """The collector blocks on its socket; the message posted afterwards
    (over REST, by this process) is pushed to it."""
    region = keystone.register_endpoint('messaging-websocket',
                                        keystone_api.ws_url)
    user = keystone.create_user('heat-agent-ws')
    queue = 'deployments-' + uuid.uuid4().hex[:8]
    metadata = _metadata()
    headers = {'Client-ID': str(uuid.uuid4()),
               'X-Auth-Token': keystone.token(user)}
    proc = _collector(collector_config(tmp_path, keystone, user, queue,
                                       region, websockets=True))
    try:
        _wait_for_queue(keystone_api, queue, headers)
        time.sleep(1.0)  # its subscription_create follows queue_create
        assert proc.poll() is None, 'the collector did not wait'
        posted = requests.post(
            f'{keystone_api.url}/v2/queues/{queue}/messages',
            headers=headers, timeout=30,
            json={'messages': [{'body': metadata, 'ttl': 600}]})
        assert posted.status_code == 201, posted.text
        assert _collected(proc) == {'zaqar': metadata}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_for_queue(api: BridgeAPI, queue: str,
                    headers: dict[str, str]) -> None:
    """Until the collector has created its queue (its first frame)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        resp = requests.get(f'{api.url}/v2/queues', headers=headers,
                            timeout=30)
        if queue in [q['name'] for q in resp.json().get('queues', [])]:
            return
        time.sleep(0.2)
    raise AssertionError('the collector never created its queue')
