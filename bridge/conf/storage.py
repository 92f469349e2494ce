"""Options of message storage: the database, pools, quotas and encryption
at rest."""

from oslo_config import cfg

storage_group = cfg.OptGroup('storage', title='Message storage options')
storage_opts = [
    cfg.StrOpt('url',
               secret=True,
               help='Storage URL; its scheme picks the driver: '
                    'sqlite:///PATH, postgresql://USER:PASS@HOST/DB, '
                    'mysql+pymysql://USER:PASS@HOST/DB or '
                    'mongodb://HOST:PORT/DB. Default: an SQLite file '
                    '"bridge.sqlite" under [DEFAULT] state_path.'),
    cfg.IntOpt('sql_pool_size', default=10, min=1,
               help='SQL connections kept open per process.'),
    cfg.IntOpt('sqlite_busy_timeout', default=30, min=1,
               help='Seconds an SQLite writer waits for the database lock.'),
    cfg.FloatOpt('sqlite_checkpoint_interval', default=1.0, min=0,
                 help='Seconds between the WAL checkpoints a background '
                      'thread of each bridge process runs on an SQLite '
                      'database, so that no request waits for one '
                      '(measured: about 15% more API requests per second). '
                      '0: SQLite checkpoints inside '
                      'the commit that grows the WAL past 1000 pages.'),
    cfg.StrOpt('mongodb_database', default='bridge',
               help='MongoDB database used when the URL names none.'),
    cfg.StrOpt('mongodb_write_concern', default='majority',
               help='MongoDB write concern "w" value: a number of nodes or '
                    '"majority".'),
    cfg.BoolOpt('mongodb_journal', default=True,
                help='Wait for the MongoDB journal before a write is '
                     'acknowledged.'),
    cfg.BoolOpt('mongodb_retry_writes', default=True,
                help='Let pymongo retry a write once after a failover.'),
    cfg.IntOpt('mongodb_timeout', default=10, min=1,
               help='Seconds to wait for a MongoDB server before a '
                    'request fails with 503.'),
]

pooling_group = cfg.OptGroup(
    'pooling', title='Storage pools',
    help='Pools are registered through the /v2/pools admin API and kept in '
         'the [storage] url database; these options tune how services '
         'follow them.')
pooling_opts = [
    cfg.FloatOpt('refresh_seconds', default=5.0, min=0.0,
                 help='How often each process re-reads the list of '
                      'registered pools: a pool registered by another '
                      'process takes new queues here within this time.'),
    cfg.IntOpt('max_pools_per_page', default=20, min=1,
               help='Most pools one GET /v2/pools returns.'),
    cfg.IntOpt('max_flavors_per_page', default=20, min=1,
               help='Most flavors one GET /v2/flavors returns.'),
]

quotas_group = cfg.OptGroup(
    'quotas', title='Per-project quotas',
    help='Defaults for every project; "bridge-manage quota set" overrides '
         'them per project. 0 means unlimited. The listener is not bound by '
         'them: it keeps its queues under [listener] max_queue_depth by '
         'evicting the oldest messages.')
quotas_opts = [
    cfg.IntOpt('queues_per_project', default=1000, min=0,
               help='Most queues a project may have; creating one more '
                    '(PUT, or a post to a queue that does not exist) '
                    'answers 403.'),
    cfg.IntOpt('messages_per_queue', default=100000, min=0,
               help='Most unexpired messages (claimed, delayed or not) a '
                    'queue may hold for a post through the API to be '
                    'accepted; a post that would exceed it stores nothing '
                    'and answers 403.'),
    cfg.IntOpt('subscriptions_per_project', default=1000, min=0,
               help='Most unexpired subscriptions a project may have, over '
                    'all its queues.'),
    cfg.IntOpt('refresh_seconds', default=10, min=0,
               help='Seconds an API process keeps the per-project overrides '
                    'it read before reading them again; a change made with '
                    '"bridge-manage quota" applies everywhere within this '
                    'time.'),
]

encryption_group = cfg.OptGroup(
    'encryption', title='Encryption of message bodies at rest',
    help='Queues whose metadata sets _enable_encrypt_messages to true have '
         'their message bodies stored sealed with AES-GCM.')
encryption_opts = [
    cfg.ListOpt('keys', default=[], secret=True,
                help='Encryption keys as ID:BASE64 pairs (ID: 1 to 32 '
                     'letters, digits, "_" or "-"; the key: 16, 24 or 32 '
                     'random bytes, e.g. from "openssl rand -base64 32"). '
                     'Every key a stored message was sealed with must stay '
                     'listed while such messages live.'),
    cfg.StrOpt('active_key',
               help='ID of the key new messages are sealed with. Default: '
                    'the first of keys.'),
]
