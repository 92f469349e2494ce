"""``bridge-manage upgrade check``: is this deployment ready to run?

Run it before (re)starting services after an upgrade or a configuration
change. Each check is read-only: it never creates tables, collections,
indexes or files. The exit code is oslo.upgradecheck's: 0 success,
1 warning (runs, but look at the details), 2 failure (a service would not
work), 255 a check crashed.

Checks:

* **Storage**: the backend of ``[storage] url`` answers, and the tables
  (SQL) or indexes (MongoDB) bridge needs exist.
* **Rules file**: the rules the listener would load parse and validate.
* **Authentication**: ``noauth`` is flagged (development only); with
  ``keystone`` the ``[keystone_authtoken]`` section can validate tokens.
* **Dead-letter queue**: readable through the API by an operator.
* **Notification bus**: no setting lets notifications waiting for bridge
  on RabbitMQ be lost (:func:`bridge.listeners.poolqueue.unsafe_settings`:
  an empty ``[listener] pool``, a quorum ``rabbit_quorum_delivery_limit``).
* **Policy file**: not in the deprecated JSON format (oslo.upgradecheck's
  common check).
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge import translation
from bridge.cmd import api as api_cmd
from bridge.listeners import poolqueue
from bridge.storage import errors as storage_errors

Code = upgradecheck.Code
Result = upgradecheck.Result

#: MongoDB indexes whose absence breaks a guarantee (uniqueness of queue
#: names, markers, dedup keys, subscribers and quota overrides), by
#: collection. Kept in step with
#: bridge/storage/mongodb/{connection,subscriptions,quotas}.py.
MONGO_REQUIRED_INDEXES = {
    'queues': 'project_name',
    'messages': 'queue_marker',
    'dedup': 'queue_key',
    'subscriptions': 'queue_subscriber',
    'quotas': 'project_resource',
}

SYNC_HINT = 'run "bridge-manage db sync" (services also create it at start)'


def _scheme(url: str) -> str:
    return url.split(':', 1)[0].split('+', 1)[0].lower()


def missing_sql_tables(url: str, conf: cfg.ConfigOpts) -> list[str]:
    """Tables (or ``table.column``) of bridge's SQL schema absent from the
    database at ``url``."""
    from bridge.storage.sql import engine as sql_engine
    from bridge.storage.sql import schema
    engine = sql_engine.make_engine(url, conf.storage)
    try:
        inspector = sa.inspect(engine)
        present = set(inspector.get_table_names())
        missing = []
        for name, table in sorted(schema.metadata.tables.items()):
            if name not in present:
                missing.append(name)
                continue
            columns = {c['name'] for c in inspector.get_columns(name)}
            missing += ['%s.%s' % (name, c.name) for c in table.columns
                        if c.name not in columns]
        return missing
    finally:
        engine.dispose()


def missing_mongo_indexes(url: str, conf: cfg.ConfigOpts) -> list[str]:
    """``collection.index`` names of :data:`MONGO_REQUIRED_INDEXES` absent
    from the database at ``url``."""
    from bridge.storage.mongodb import connection
    client, db = connection.open_client(url, conf.storage)
    try:
        missing = []
        for collection, index in sorted(MONGO_REQUIRED_INDEXES.items()):
            if index not in db[collection].index_information():
                missing.append('%s.%s' % (collection, index))
        return missing
    finally:
        client.close()


def sqlite_file_missing(url: str) -> str | None:
    """The SQLite database path when it does not exist (connecting would
    create an empty file, which a read-only check must not do)."""
    if _scheme(url) != 'sqlite':
        return None
    path = sa.engine.make_url(url).database or ''
    return None if os.path.exists(path) else path


def check_storage(conf: cfg.ConfigOpts) -> Result:
    url = bridge_conf.storage_url(conf)
    shown = api_cmd.redact_url(url)
    absent = sqlite_file_missing(url)
    if absent is not None:
        return Result(Code.FAILURE, 'The SQLite database %s does not exist; '
                      '%s.' % (absent, SYNC_HINT))
    try:
        store = bridge_storage.from_url(url, conf)
    except ValueError as exc:
        return Result(Code.FAILURE, str(exc))
    try:
        store.health()
        if _scheme(url) in ('mongodb', 'mongodb+srv'):
            missing = missing_mongo_indexes(url, conf)
            what = 'indexes'
        else:
            missing = missing_sql_tables(url, conf)
            what = 'tables/columns'
    except storage_errors.Unavailable as exc:
        return Result(Code.FAILURE, 'Storage %s does not answer: %s'
                      % (shown, exc))
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        return Result(Code.FAILURE, 'Storage %s: %s: %s'
                      % (shown, type(exc).__name__, exc))
    finally:
        store.close()
    if missing:
        return Result(Code.FAILURE, 'Storage %s lacks %s %s; %s.'
                      % (shown, what, ', '.join(missing), SYNC_HINT))
    return Result(Code.SUCCESS, 'Storage %s answers and its schema is '
                  'complete.' % shown)


def check_rules(conf: cfg.ConfigOpts) -> Result:
    path = conf.listener.rules_file or translation.default_rules_path()
    try:
        rules = translation.load_rules(path)
    except translation.RulesError as exc:
        return Result(Code.FAILURE, str(exc))
    except OSError as exc:
        return Result(Code.FAILURE, 'Cannot read the rules file %s: %s'
                      % (path, exc))
    return Result(Code.SUCCESS, '%s: %d families, %d enabled routes.'
                  % (path, len(rules.families), len(rules.routes)))


def check_auth(conf: cfg.ConfigOpts) -> Result:
    if conf.auth_strategy == 'noauth':
        return Result(Code.WARNING, 'auth_strategy is noauth: any client '
                      'may name any project with X-Project-Id. Use it for '
                      'development only; set auth_strategy = keystone and '
                      '[keystone_authtoken] in production.')
    return _check_keystone_authtoken(conf)


def _check_keystone_authtoken(conf: cfg.ConfigOpts) -> Result:
    from keystoneauth1 import exceptions as ks_exceptions
    from keystoneauth1 import loading
    from keystonemiddleware.auth_token import _opts
    group = 'keystone_authtoken'
    for name, opts in _opts.list_opts():
        _register_missing(conf, opts, name)
    section = conf[group]
    if not section.auth_type:
        return Result(Code.FAILURE, '[keystone_authtoken] auth_type is not '
                      'set: auth_token cannot validate tokens (set '
                      'auth_type = password with auth_url, username, '
                      'password, project_name and the domains).')
    try:
        loading.load_auth_from_conf_options(conf, group)
    except (ks_exceptions.MissingRequiredOptions,
            ks_exceptions.NoMatchingPlugin) as exc:
        return Result(Code.FAILURE, '[keystone_authtoken]: %s' % exc)
    if not section.www_authenticate_uri:
        return Result(Code.WARNING, '[keystone_authtoken] '
                      'www_authenticate_uri is not set: 401 answers will not '
                      'tell clients where to authenticate.')
    return Result(Code.SUCCESS, 'keystone: tokens are validated with '
                  'auth_type %s.' % section.auth_type)


def _register_missing(conf: cfg.ConfigOpts, opts: list[Any],
                      group: str) -> None:
    for opt in opts:
        try:
            conf.register_opt(opt, group=group)
        except cfg.DuplicateOptError:
            pass


def check_dead_letters(conf: cfg.ConfigOpts) -> Result:
    project = conf.listener.dead_letter_project
    default = next(o.default for o in bridge_conf.listener_opts
                   if o.name == 'dead_letter_project')
    if conf.auth_strategy == 'keystone' and project == default:
        return Result(Code.WARNING, '[listener] dead_letter_project is %r, '
                      'which is no Keystone project: no operator can read '
                      'the dead-letter queue through the API. Set it to '
                      'the admin project id.' % project)
    return Result(Code.SUCCESS, 'Dead letters go to queue %s of project %s.'
                  % (conf.listener.dead_letter_queue, project))


def check_bus(conf: cfg.ConfigOpts) -> Result:
    problems = poolqueue.unsafe_settings(conf)
    if problems:
        return Result(Code.FAILURE, 'Notifications can be lost: %s'
                      % ' '.join(problems))
    description = poolqueue.describe(conf)
    return Result(Code.SUCCESS, description[0].upper() + description[1:]
                  + '.')


class Checks(upgradecheck.UpgradeCommands):
    """bridge's upgrade checks over one parsed configuration."""

    display_title = 'bridge upgrade check results'

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def _storage(self) -> Result:
        return check_storage(self.conf)

    def _rules(self) -> Result:
        return check_rules(self.conf)

    def _auth(self) -> Result:
        return check_auth(self.conf)

    def _dead_letters(self) -> Result:
        return check_dead_letters(self.conf)

    def _bus(self) -> Result:
        return check_bus(self.conf)

    def _policy(self) -> Result:
        return common_checks.check_policy_json(self, self.conf)

    _upgrade_checks = (
        ('Storage', _storage),
        ('Rules file', _rules),
        ('Authentication', _auth),
        ('Dead-letter queue', _dead_letters),
        ('Notification bus', _bus),
        ('Policy file', _policy),
    )


def run(conf: cfg.ConfigOpts) -> int:
    """``bridge-manage upgrade check [--json]``: print the results table
    (or JSON) and return the worst result's code."""
    # oslo.upgradecheck reads --json from its module-level CONF.
    upgradecheck.CONF = conf
    return int(Checks(conf).check())
