"""Options of bridge-api: the server, its WebSocket API, API limits and
pre-signed URLs."""

from oslo_config import cfg

#: bridge-api workers and threads per worker on a network database ([api]
#: workers = 0, threads = 0); on SQLite both are 1.
NETWORK_DATABASE_WORKERS = 2
NETWORK_DATABASE_THREADS = 8

api_group = cfg.OptGroup('api', title='REST API server options')
api_opts = [
    cfg.HostAddressOpt('bind_host', default='127.0.0.1',
                       help='Address bridge-api listens on.'),
    cfg.PortOpt('bind_port', default=8888,
                help='Port bridge-api listens on.'),
    cfg.IntOpt('workers', default=0, min=0,
               help='Number of bridge-api worker processes, each with its '
                    'own interpreter (and lock), storage connections and '
                    'event loop. 0 (the default) picks by storage, as '
                    'measured on 2 cores: 1 on SQLite (the database has one '
                    'writer: a second process served the same rate with 2 '
                    'to 3 times the p99 latency) and %d on PostgreSQL, '
                    'MariaDB or MongoDB.' % NETWORK_DATABASE_WORKERS),
    cfg.IntOpt('threads', default=0, min=0,
               help='Threads per bridge-api worker process that run '
                    'requests once their whole body has arrived (bodies '
                    'and headers are read without a thread, so slow '
                    'clients hold none). With 1, requests run on the '
                    'worker\'s event loop thread, which costs the least '
                    'CPU; more threads overlap the round trips to a network '
                    'database. 0 (the default) picks by storage, as '
                    'measured on 2 cores: 1 on SQLite, where a request '
                    'waits on nothing a second thread could use, and '
                    '%d on PostgreSQL, MariaDB or MongoDB (on PostgreSQL '
                    'about 2.8 times the rate of 1 thread, 1.2 times that '
                    'of 4).' % NETWORK_DATABASE_THREADS),
    cfg.IntOpt('max_requests_per_worker', default=256, min=1,
               help='Most requests one worker process holds at once, '
                    'counting those whose body is still arriving and those '
                    'waiting for a thread; further connections wait to be '
                    'accepted.'),
    cfg.IntOpt('max_waiters_per_worker', default=10000, min=0,
               help='Most long polls (GET messages or POST claims with '
                    '"wait") one worker process holds parked at once, on '
                    'top of max_requests_per_worker; a waiter holds no '
                    'thread, only a coroutine and its connection. Beyond '
                    'this a request with "wait" is answered at once.'),
    cfg.IntOpt('graceful_timeout', default=30, min=1,
               help='Seconds a worker process has after SIGTERM to finish '
                    'the requests it holds before it is killed.'),
]

websocket_group = cfg.OptGroup(
    'websocket', title="Zaqar v2's WebSocket API",
    help='bridge-api serves the WebSocket API of Zaqar v2 (the protocol '
         "of python-zaqarclient's websocket transport and of "
         "os-collect-config's use_websockets mode) on its own port, path "
         '/, from a second server process of its own.')
websocket_opts = [
    cfg.HostAddressOpt('bind_host',
                       help='Address of the WebSocket API. Default: [api] '
                            'bind_host.'),
    cfg.PortOpt('bind_port', default=9000,
                help='Port of the WebSocket API (as Zaqar); 0 turns it '
                     'off.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Worker processes of the WebSocket server; a socket '
                    'and its subscriptions hold no thread.'),
]

limits_group = cfg.OptGroup('limits', title='API limits and defaults',
                            help='Values a tenant sees; the defaults are '
                                 "Zaqar's, so its clients behave the same.")
limits_opts = [
    cfg.IntOpt('max_queues_per_page', default=20, min=1,
               help='Most queues one list request returns.'),
    cfg.IntOpt('max_messages_per_page', default=20, min=1,
               help='Most messages one list, get-by-ids or delete-by-ids '
                    'request handles.'),
    cfg.IntOpt('max_messages_per_claim_or_pop', default=20, min=1,
               help='Most messages one claim or pop takes.'),
    cfg.IntOpt('max_queue_metadata', default=64 * 1024, min=1,
               help='Largest queue metadata document, in bytes.'),
    cfg.IntOpt('max_messages_post_size', default=256 * 1024, min=1,
               help='Largest message post body, in bytes; a queue may lower '
                    'it with its _max_messages_post_size metadata.'),
    cfg.IntOpt('max_message_ttl', default=1209600, min=1,
               help='Longest message time to live, in seconds.'),
    cfg.IntOpt('min_message_ttl', default=60, min=1,
               help='Shortest message time to live, in seconds.'),
    cfg.IntOpt('default_message_ttl', default=3600, min=1,
               help='Message time to live when neither the message nor its '
                    'queue sets one.'),
    cfg.IntOpt('max_message_delay', default=900, min=0,
               help='Longest delay before a posted message becomes visible.'),
    cfg.IntOpt('default_message_delay', default=0, min=0,
               help='Delay when neither the message nor its queue sets one.'),
    cfg.IntOpt('max_claim_ttl', default=43200, min=1,
               help='Longest claim time to live, in seconds.'),
    cfg.IntOpt('min_claim_ttl', default=60, min=1,
               help='Shortest claim time to live, in seconds.'),
    cfg.IntOpt('default_claim_ttl', default=300, min=1,
               help='Claim time to live when the request sets none.'),
    cfg.IntOpt('max_claim_grace', default=43200, min=0,
               help='Longest claim grace period, in seconds.'),
    cfg.IntOpt('min_claim_grace', default=60, min=0,
               help='Shortest claim grace period, in seconds.'),
    cfg.IntOpt('default_claim_grace', default=60, min=0,
               help='Claim grace period when the request sets none.'),
    cfg.IntOpt('max_request_body', default=1024 * 1024, min=1,
               help='Largest request body of any kind read from a client, '
                    'in bytes; larger bodies are refused with 413 before '
                    'they are read.'),
    cfg.IntOpt('default_queues_per_page', default=10, min=1,
               help='Queues one list request returns when it sets no limit.'),
    cfg.IntOpt('default_messages_per_page', default=10, min=1,
               help='Messages one list request returns when it sets no '
                    'limit.'),
    cfg.IntOpt('default_messages_per_claim', default=10, min=1,
               help='Messages one claim takes when the request sets no '
                    'limit.'),
    cfg.IntOpt('max_json_depth', default=64, min=2,
               help='Deepest nesting of arrays and objects accepted in a '
                    'request body (message bodies and queue metadata); '
                    'MongoDB refuses documents nested beyond 100 levels.'),
    cfg.IntOpt('max_wait', default=20, min=1,
               help='Longest long poll: the most seconds a GET messages or '
                    'POST claims request may ask to "wait" for a message '
                    'when there is none (as SQS\'s WaitTimeSeconds; the '
                    'default, wait=0, answers at once).'),
    cfg.IntOpt('max_subscriptions_per_page', default=20, min=1,
               help='Most subscriptions one list request returns.'),
    cfg.IntOpt('default_subscriptions_per_page', default=10, min=1,
               help='Subscriptions one list request returns when it sets no '
                    'limit.'),
    cfg.IntOpt('max_subscriber_length', default=2048, min=16,
               help='Longest subscriber URI (webhook URL or mailto:), in '
                    'characters.'),
    cfg.IntOpt('max_subscription_options', default=16 * 1024, min=2,
               help='Largest subscription "options" object, in bytes of '
                    'JSON.'),
]

signed_url_group = cfg.OptGroup(
    'signed_url', title='Pre-signed URLs',
    help='Pre-signed URLs (POST /v2/queues/{name}/share, and subscription '
         'confirmation requests) let a holder use some paths of one queue '
         'without a token until they expire.')
signed_url_opts = [
    cfg.StrOpt('secret_key', secret=True,
               help='Key of the HMAC-SHA256 signatures of pre-signed URLs. '
                    'Unset: pre-signed URLs are disabled (share answers '
                    '400, signed requests 404). Give every bridge-api and '
                    'bridge-notifier the same value; changing it revokes '
                    'every URL signed before. Use a long random string, '
                    'e.g. from "openssl rand -hex 32".'),
    cfg.IntOpt('default_expiry', default=86400, min=1,
               help='Seconds a pre-signed URL is valid when its request '
                    'names no "expires" (as Zaqar: one day), and how long '
                    'the signed URL in a confirmation request is valid.'),
]
