"""``bridge-demo``: publish a few realistic OpenStack notifications.

    bridge-demo [--transport-url URL] [--project P] [--api-url URL]

Publishes the notification samples shipped with bridge (Nova, Cinder,
Neutron, Glance, Heat; ``bridge/bench/samples/``) on RabbitMQ exactly as
those services do (:mod:`bridge.emitter`), each rewritten so that project
``P`` owns its resource, with a fresh ``message_id`` and the current time.
A running ``bridge-listener`` stores them in queues of project ``P``
(``nova-events``, ``cinder-events``, ...); the command prints how to read
them with curl and python-zaqarclient.

It is a demonstration and test tool: it never touches storage, and needs
only the bus.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import uuid
from typing import Any, Sequence

import kombu.exceptions

import bridge.bench
from bridge import emitter
from bridge import translation
from bridge.cmd import api as api_cmd

SAMPLES = os.path.join(os.path.dirname(bridge.bench.__file__), 'samples')
DEFAULT_TRANSPORT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'


def load_samples() -> list[dict[str, Any]]:
    """The shipped samples, each with the exchange its service uses."""
    samples = []
    for path in sorted(glob.glob(os.path.join(SAMPLES, '*.json'))):
        with open(path) as f:
            sample = json.load(f)
        sample['exchange'] = os.path.basename(path).split('__', 1)[0]
        samples.append(sample)
    return samples


def _route(sample: dict[str, Any], rules: translation.Rules
           ) -> translation.Routed | None:
    note = translation.Notification(
        event_type=sample['event_type'], publisher_id=sample['publisher_id'],
        priority=str(sample.get('priority', 'info')).lower(),
        payload=sample['payload'], ctxt=sample.get('ctxt') or {},
        message_id=sample.get('message_id') or str(uuid.uuid4()),
        timestamp=emitter.now_timestamp())
    routed = translation.translate(note, rules)
    return routed if isinstance(routed, translation.Routed) else None


def for_project(sample: dict[str, Any], project: str,
                rules: translation.Rules) -> tuple[dict[str, Any], str]:
    """The sample owned by ``project`` (every occurrence of its owner's id
    replaced, e.g. also inside a Heat stack ARN), with a fresh message_id
    and timestamp; and the queue the rules deliver it to. ValueError if
    the rules do not deliver it to ``project``."""
    original = _route(sample, rules)
    if original is None:
        raise ValueError('%s is not delivered to any project'
                         % sample['event_type'])
    text = json.dumps(sample).replace(json.dumps(original.project_id)[1:-1],
                                      json.dumps(project)[1:-1])
    rewritten = json.loads(text)
    rewritten['message_id'] = str(uuid.uuid4())
    rewritten['timestamp'] = emitter.now_timestamp()
    routed = _route(rewritten, rules)
    if routed is None or routed.project_id != project:
        raise ValueError('%s does not reach project %s after rewriting'
                         % (sample['event_type'], project))
    return rewritten, routed.queue


def publish(transport_url: str, project: str) -> list[tuple[str, str, str]]:
    """Publish every sample for ``project``; return (service, event_type,
    queue) per notification, in publishing order."""
    rules = translation.load_rules(translation.default_rules_path())
    events = [for_project(s, project, rules) for s in load_samples()]
    published = []
    with emitter.Emitter(transport_url) as out:
        for event, queue in events:
            out.publish(event)
            published.append((event['exchange'], event['event_type'], queue))
    return published


def instructions(project: str, api_url: str, queues: list[str],
                 python: str = 'python3') -> str:
    """How to read the demo events (noauth API)."""
    client_id = str(uuid.uuid4())
    first = queues[0]
    lines = [
        'Read them through the API (noauth: X-Project-Id names the '
        'project):',
        '',
        '  curl -s -H "Client-ID: %s" -H "X-Project-Id: %s" \\' % (client_id,
                                                                 project),
        '       %s/v2/queues' % api_url,
        '  curl -s -H "Client-ID: %s" -H "X-Project-Id: %s" \\' % (client_id,
                                                                 project),
        '       %s/v2/queues/%s/messages' % (api_url, first),
        '',
        'or with python-zaqarclient (if missing: %s install '
        'python-zaqarclient):' % os.path.join(os.path.dirname(python), 'pip'),
        '',
        "  %s - <<'EOF'" % python,
        'from zaqarclient.queues.v2 import client',
        "zaqar = client.Client('%s', version=2, conf={'auth_opts': {"
        % api_url,
        "    'backend': 'noauth', 'options': {'os_project_id': '%s'}}})"
        % project,
        'for queue in zaqar.queues()[0]:',
        '    for message in queue.messages():',
        "        print(queue.name, message.body['event_type'], "
        "message.body['resource_id'])",
        'EOF',
    ]
    return '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='bridge-demo',
        description='Publish a few realistic OpenStack notifications owned '
                    'by one project, for bridge-listener to deliver.')
    parser.add_argument('--transport-url', default=DEFAULT_TRANSPORT_URL,
                        help='RabbitMQ to publish on (default %(default)s)')
    parser.add_argument('--project', default='demo',
                        help='project that owns the demo resources '
                             '(default %(default)s)')
    parser.add_argument('--api-url', default='http://127.0.0.1:8888',
                        help='bridge-api URL, for the printed commands '
                             '(default %(default)s)')
    args = parser.parse_args(argv)
    try:
        published = publish(args.transport_url, args.project)
    except (OSError, kombu.exceptions.KombuError) as exc:
        print('bridge-demo: cannot publish on %s: %s'
              % (api_cmd.redact_url(args.transport_url), exc),
              file=sys.stderr)
        return 1
    print('Published %d notifications on %s for project %s:'
          % (len(published), api_cmd.redact_url(args.transport_url),
             args.project))
    for service, event_type, queue in published:
        print('  %-8s %-30s -> queue %s' % (service, event_type, queue))
    queues = sorted({queue for _, _, queue in published})
    print('\nbridge-listener stores them in %d queues of project %s.\n'
          % (len(queues), args.project))
    print(instructions(args.project, args.api_url.rstrip('/'), queues,
                       sys.executable))
    return 0


if __name__ == '__main__':
    sys.exit(main())
