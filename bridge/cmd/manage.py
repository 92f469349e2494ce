"""``bridge-manage``: administration commands.

    bridge-manage [--config-file FILE] db sync
    bridge-manage [--config-file FILE] upgrade check [--json]
    bridge-manage [--config-file FILE] dead-letters list [--limit N]
    bridge-manage [--config-file FILE] dead-letters replay [--limit N]
                                       [--dry-run] [--progress-every N]
    bridge-manage [--config-file FILE] rules check NOTIFICATION_FILE
                                       [--rules RULES_FILE] [--no-index]
    bridge-manage [--config-file FILE] quota set PROJECT RESOURCE LIMIT
    bridge-manage [--config-file FILE] quota show PROJECT
    bridge-manage [--config-file FILE] quota list
    bridge-manage [--config-file FILE] quota delete PROJECT [RESOURCE]

``db sync`` creates the tables, collections and indexes that are missing in
the storage named by ``[storage] url`` and in every registered pool
(idempotent; safe while services run).
``upgrade check`` runs read-only readiness checks (:mod:`bridge.manage.
upgradecheck`); ``dead-letters`` inspects and replays the listener's
operator dead-letter queue (:mod:`bridge.manage.deadletters`); ``rules
check`` shows exactly what a tenant would receive for the notifications of
a file (:mod:`bridge.manage.rulescheck`); ``quota`` manages per-project
quota overrides (:mod:`bridge.manage.quotas`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from oslo_config import cfg
from oslo_log import log

from bridge import conf as bridge_conf
from bridge import quotas as bridge_quotas
from bridge import storage as bridge_storage
from bridge import translation
from bridge.api import wsgi
from bridge.cmd import api as api_cmd
from bridge.cmd import common
from bridge.manage import deadletters
from bridge.manage import rulescheck
from bridge.manage import quotas as manage_quotas
from bridge.manage import upgradecheck
from bridge.storage import base
from bridge.storage import errors as storage_errors


def db_sync(conf: cfg.ConfigOpts) -> int:
    try:
        url = api_cmd.prepare_storage(conf)
    except storage_errors.Unavailable as exc:
        print('Storage unavailable (%s): %s'
              % (api_cmd.redact_url(bridge_conf.storage_url(conf)), exc),
              file=sys.stderr)
        return 1
    print('Storage schema is up to date: %s' % url)
    return 0


def _fail(message: str) -> int:
    print('bridge-manage: %s' % message, file=sys.stderr)
    return 1


def _open_storage(conf: cfg.ConfigOpts) -> base.Storage | None:
    """The storage holding the dead-letter queue; None (reported) when an
    SQLite database does not exist yet (opening it would create it)."""
    url = bridge_conf.storage_url(conf)
    absent = upgradecheck.sqlite_file_missing(url)
    if absent is not None:
        _fail('no storage at %s yet; run "bridge-manage db sync" or start '
              'bridge-listener first' % absent)
        return None
    return bridge_storage.from_conf(conf)


def dead_letters_list(conf: cfg.ConfigOpts) -> int:
    store = _open_storage(conf)
    if store is None:
        return 1
    lc = conf.listener
    try:
        deadletters.list_letters(store, lc.dead_letter_project,
                                 lc.dead_letter_queue, conf.command.limit,
                                 sys.stdout)
    except storage_errors.Unavailable as exc:
        return _fail('storage unavailable: %s' % exc)
    finally:
        store.close()
    return 0


def dead_letters_replay(conf: cfg.ConfigOpts) -> int:
    args, lc = conf.command, conf.listener
    path = lc.rules_file or translation.default_rules_path()
    try:
        rules = translation.load_rules(path).with_denied_projects(
            conf.translation.operator_projects)
    except (translation.RulesError, OSError) as exc:
        return _fail('cannot load the rules: %s' % exc)
    store = _open_storage(conf)
    if store is None:
        return 1
    replayer = deadletters.Replayer(
        store, rules, project=lc.dead_letter_project,
        queue=lc.dead_letter_queue,
        default_ttl=conf.limits.default_message_ttl,
        max_depth=lc.max_queue_depth or None, out=sys.stdout,
        progress_every=args.progress_every,
        ownership_grace=conf.translation.ownership_grace)
    summary = deadletters.Summary()
    print('Replaying %s/%s with the rules of %s%s' % (
        lc.dead_letter_project, lc.dead_letter_queue, path,
        ' (dry run)' if args.dry_run else ''))
    stopped = None
    try:
        replayer.run(summary, limit=args.limit, dry_run=args.dry_run)
    except storage_errors.Unavailable as exc:
        stopped = exc
    finally:
        store.close()
    deadletters.report(summary, sys.stdout, dry_run=args.dry_run,
                       project=lc.dead_letter_project,
                       queue=lc.dead_letter_queue)
    if stopped is not None:
        return _fail('storage unavailable, replay stopped: %s\nRun it '
                     'again to continue: letters already stored were '
                     'removed, and a letter stored twice is deduplicated.'
                     % stopped)
    return 1 if summary.failed else 0


def rules_check(conf: cfg.ConfigOpts) -> int:
    args = conf.command
    path = args.rules or conf.listener.rules_file or \
        translation.default_rules_path()
    try:
        rules = translation.load_rules(path).with_denied_projects(
            conf.translation.operator_projects)
    except translation.RulesError as exc:
        return _fail(str(exc))
    try:
        with open(args.file, encoding='utf-8') as f:
            notes = rulescheck.read_notifications(f.read())
    except OSError as exc:
        return _fail('cannot read %s: %s' % (args.file,
                                             exc.strerror or exc))
    except rulescheck.InputError as exc:
        return _fail('%s: %s' % (args.file, exc))
    store = None
    if not args.no_index:
        url = bridge_conf.storage_url(conf)
        if upgradecheck.sqlite_file_missing(url) is None:
            store = bridge_storage.from_url(url, conf)
    print('Rules: %s; ownership index: %s' % (
        path, 'not consulted' if store is None else
        api_cmd.redact_url(bridge_conf.storage_url(conf))))
    try:
        rulescheck.report(notes, rules, store, sys.stdout)
    except storage_errors.Unavailable as exc:
        return _fail('storage unavailable for the ownership index (%s); '
                     'use --no-index to check without it' % exc)
    finally:
        if store is not None:
            store.close()
    return 0


def quota_command(conf: cfg.ConfigOpts) -> int:
    """``quota set|show|list|delete`` (the schema is brought up to date
    first, so an older database gains its quotas table)."""
    args = conf.command
    try:
        store = _open_storage(conf)
    except ValueError as exc:
        return _fail(str(exc))
    if store is None:
        return 1
    try:
        store.ensure_schema()
        if args.action == 'set':
            manage_quotas.set_(store, args.project, args.resource,
                               args.limit, sys.stdout)
        elif args.action == 'show':
            manage_quotas.show(store, conf, args.project, sys.stdout)
        elif args.action == 'list':
            manage_quotas.list_(store, conf, sys.stdout)
        else:
            manage_quotas.delete(store, args.project, args.resource,
                                 sys.stdout)
    except storage_errors.Unavailable as exc:
        return _fail('storage unavailable: %s' % exc)
    finally:
        store.close()
    return 0


def _add_quota_commands(subparsers: argparse._SubParsersAction) -> None:
    quota = subparsers.add_parser(
        'quota', help='Per-project quotas (overrides of [quotas]).')
    actions = quota.add_subparsers(title='quota commands', dest='action')
    actions.required = True
    resources = sorted(bridge_quotas.RESOURCES)
    setter = actions.add_parser(
        'set', help='Set a project\'s limit for one resource (0: unlimited).')
    setter.add_argument('project')
    setter.add_argument('resource', choices=resources)
    setter.add_argument('limit', type=_not_negative)
    shower = actions.add_parser(
        'show', help='The limits in force for a project, and where each '
                     'comes from.')
    shower.add_argument('project')
    actions.add_parser('list', help='The defaults and every project '
                                    'override.')
    deleter = actions.add_parser(
        'delete', help='Remove overrides: the defaults apply again.')
    deleter.add_argument('project')
    deleter.add_argument('resource', nargs='?', choices=resources)
    quota.set_defaults(handler=quota_command)


def _not_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError('must be 0 (unlimited) or more')
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError('must be 1 or more')
    return number


def _add_commands(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser('db', help='Storage schema commands.')
    actions = db.add_subparsers(title='db commands', dest='action')
    actions.required = True
    sync = actions.add_parser(
        'sync', help='Create missing tables, collections and indexes.')
    sync.set_defaults(handler=db_sync)

    upgrade = subparsers.add_parser('upgrade', help='Upgrade readiness.')
    actions = upgrade.add_subparsers(title='upgrade commands', dest='action')
    actions.required = True
    check = actions.add_parser(
        'check', help='Check storage, rules, authentication and policy '
                      '(read-only). Exit code 0 ok, 1 warning, 2 failure.')
    check.add_argument('--json', action='store_true',
                       help='Print the results as JSON.')
    check.set_defaults(handler=upgradecheck.run)

    dead = subparsers.add_parser(
        'dead-letters', help="The listener's operator dead-letter queue.")
    actions = dead.add_subparsers(title='dead-letters commands',
                                  dest='action')
    actions.required = True
    listing = actions.add_parser('list', help='Show the oldest letters.')
    listing.add_argument('--limit', type=_positive, default=20,
                         help='Most letters to show (default 20).')
    listing.set_defaults(handler=dead_letters_list)
    replay = actions.add_parser(
        'replay', help='Translate letters again with the current rules and '
                       'store them in their tenant queues; a letter leaves '
                       'the dead-letter queue once stored.')
    replay.add_argument('--limit', type=_positive, default=None,
                        help='Most letters to examine (default: all).')
    replay.add_argument('--dry-run', action='store_true',
                        help='Only report what would be stored.')
    replay.add_argument('--progress-every', type=_positive, default=1000,
                        help='Print a progress line every N letters '
                             '(default 1000).')
    replay.set_defaults(handler=dead_letters_replay)
    _add_quota_commands(subparsers)

    rules = subparsers.add_parser('rules', help='The translation rules.')
    actions = rules.add_subparsers(title='rules commands', dest='action')
    actions.required = True
    check = actions.add_parser(
        'check', help='Show exactly what a tenant would receive for the '
                      'notifications of a JSON file (one, or a list).')
    check.add_argument('file', help='JSON file of notifications.')
    check.add_argument('--rules', default=None,
                       help='Rules file to use (default: [listener] '
                            'rules_file, else the shipped rules).')
    check.add_argument('--no-index', action='store_true',
                       help='Do not consult the ownership index in '
                            'storage.')
    check.set_defaults(handler=rules_check)


COMMAND = cfg.SubCommandOpt('command', title='Commands',
                            help='Available commands',
                            handler=_add_commands)


def manage(args: list[str]) -> int:
    conf = wsgi.load_conf(args, cli_opts=[COMMAND])
    if not conf.log_file and not conf.use_journal:
        # Logs go to stderr, so stdout carries only the command's output
        # (e.g. upgrade check --json).
        conf.set_default('use_stderr', True)
        log.setup(conf, 'bridge')
    handler: Callable[[cfg.ConfigOpts], int] = conf.command.handler
    return handler(conf)


def main(argv: Sequence[str] | None = None) -> int:
    return common.run('bridge-manage', manage, argv)


if __name__ == '__main__':
    sys.exit(main())
