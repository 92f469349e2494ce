"""bridge's pool queue on RabbitMQ: durable (or quorum) by default.

oslo.messaging's rabbit driver declares a listener's queue *and* the
exchanges it binds to with one flag (``[oslo_messaging_rabbit]
amqp_durable_queues``, or ``rabbit_quorum_queue``), whose default is
non-durable: the pool queue and the notifications waiting in it would be
gone after a broker restart. Turning the flag on is no answer either: the
exchanges belong to the services (``nova``, ``neutron``, ...), which
declare them with their own setting, and RabbitMQ answers
``PRECONDITION_FAILED`` to a declaration whose durability differs (the
driver then silently falls back to a non-durable queue).

So bridge declares its pool queue itself, with the driver's own
:class:`Consumer` class and connection (reconnects, heartbeats, acks and
requeues stay oslo.messaging's):

* the **queue** is durable, never auto-deleted, and a quorum queue when
  ``[listener] pool_queue_type`` says so (``auto``: when
  ``[oslo_messaging_rabbit] rabbit_quorum_queue`` is on);
* each **exchange** is taken as it is when it exists (a passive
  declaration, whatever its durability), and otherwise created the way the
  services of this deployment create it (``amqp_durable_queues`` /
  ``rabbit_quorum_queue``, ``amqp_auto_delete``), so bridge never makes a
  service's own declaration fail.

RabbitMQ accepts a durable queue bound to a transient exchange: the
persistent messages in the queue survive a restart; the binding goes with
the exchange and comes back when bridge reconnects and declares again.

A pool queue that already exists with other properties (a non-durable one
left by an earlier bridge, or a classic one where quorum is now asked for)
is consumed as it is, with an error in the log: RabbitMQ cannot change a
queue's type, and deleting it would lose what it holds. It becomes durable
by itself when it disappears at the next broker restart; see the README,
"Nothing lost across a broker restart".

:class:`PoolNotificationServer` is oslo.messaging's batch notification
server with only ``_create_listener`` replaced: it builds the same
``NotificationAMQPListener`` as the driver's ``listen_for_notifications``
with these consumers. Transports other than RabbitMQ, and a listener
without a pool, keep the driver's behaviour.
"""

from __future__ import annotations

from typing import Any

import kombu.entity
from amqp import exceptions as amqp_exceptions
from oslo_config import cfg
from oslo_log import log
from oslo_messaging._drivers import amqp as driver_amqp
from oslo_messaging._drivers import amqpdriver
from oslo_messaging._drivers import base as driver_base
from oslo_messaging._drivers import common as driver_common
from oslo_messaging._drivers import impl_rabbit
from oslo_messaging.notify import listener as notify_listener

LOG = log.getLogger(__name__)

QUORUM = 'quorum'
CLASSIC = 'classic'


def rabbit_conf(conf: cfg.ConfigOpts) -> Any:
    """``[oslo_messaging_rabbit]``, registered when nothing did yet (the
    driver registers it only once a transport exists)."""
    for opt in [*impl_rabbit.rabbit_opts, *driver_amqp.amqp_opts]:
        try:
            conf.register_opt(opt, group='oslo_messaging_rabbit')
        except cfg.DuplicateOptError:
            pass
    return conf.oslo_messaging_rabbit


def queue_type(conf: cfg.ConfigOpts) -> str:
    """``quorum`` or ``classic``: the type of queue bridge declares for its
    pool (``[listener] pool_queue_type``, ``auto`` following
    ``[oslo_messaging_rabbit] rabbit_quorum_queue``)."""
    wanted = conf.listener.pool_queue_type
    if wanted == 'auto':
        return QUORUM if rabbit_conf(conf).rabbit_quorum_queue else CLASSIC
    return wanted


def unsafe_settings(conf: cfg.ConfigOpts) -> list[str]:
    """Settings under which notifications waiting for bridge on RabbitMQ
    can still be lost (a broker restart, or RabbitMQ dropping them), each
    as one sentence naming the setting and the fix. Empty when safe."""
    problems = []
    rabbit = rabbit_conf(conf)
    if not conf.listener.pool:
        if not (rabbit.amqp_durable_queues or rabbit.rabbit_quorum_queue):
            problems.append(
                '[listener] pool is empty: bridge consumes the shared '
                'notifications queues, which are declared non-durable '
                '([oslo_messaging_rabbit] amqp_durable_queues = false) and '
                'lose their messages at a broker restart; set [listener] '
                'pool (default "bridge").')
        else:
            problems.append(
                '[listener] pool is empty: bridge consumes the shared '
                'notifications queues and takes messages meant for other '
                'consumers (Ceilometer); set [listener] pool (default '
                '"bridge").')
    elif (queue_type(conf) == QUORUM
          and rabbit.rabbit_quorum_delivery_limit > 0):
        problems.append(
            '[oslo_messaging_rabbit] rabbit_quorum_delivery_limit = %d: '
            'RabbitMQ drops a notification bridge requeued that many times '
            '(e.g. while storage is down); set it to 0.'
            % rabbit.rabbit_quorum_delivery_limit)
    return problems


def rabbit_transports(conf: cfg.ConfigOpts) -> bool:
    """True when every bus bridge listens on is RabbitMQ (oslo.messaging's
    ``rabbit`` driver, also named ``kombu``), the only one whose queues
    bridge declares."""
    for opt in _messaging_default_opts():
        try:
            conf.register_opt(opt)
        except cfg.DuplicateOptError:
            pass
    urls = [conf.transport_url or 'rabbit://',
            *conf.listener.extra_transport_urls]
    return all(url.split(':', 1)[0].split('+', 1)[0] in ('rabbit', 'kombu')
               for url in urls)


def _messaging_default_opts() -> list[Any]:
    from oslo_messaging import opts as messaging_opts
    return [opt for group, opts in messaging_opts.list_opts()
            if group is None for opt in opts]


def describe(conf: cfg.ConfigOpts) -> str:
    """One line for the operator: what the pool queue survives."""
    if not rabbit_transports(conf):
        return ('not every bus is RabbitMQ: bridge declares the pool queue '
                'only on RabbitMQ; elsewhere durability is the bus\'s own')
    if not conf.listener.pool:
        return 'no pool: the shared notifications queues, declared by ' \
            'oslo.messaging'
    kind = queue_type(conf)
    exchanges = 'durable' if _exchange_durable(rabbit_conf(conf)) \
        else 'non-durable'
    return ('pool queue %r is a %s queue (durable: it and its messages '
            'survive a RabbitMQ restart); exchanges are used as found, '
            'created %s when missing'
            % (conf.listener.pool,
               'quorum' if kind == QUORUM else 'durable classic', exchanges))


def _exchange_durable(rabbit: Any) -> bool:
    # As the services' own driver declares exchanges (Connection.durable).
    return bool(rabbit.amqp_durable_queues or rabbit.rabbit_quorum_queue)


class PoolQueueConsumer(impl_rabbit.Consumer):
    """A topic consumer whose queue is durable (or quorum) whatever the
    durability of the exchange it binds to."""

    def __init__(self, connection: Any, exchange_name: str, topic: str,
                 pool: str, callback: Any, kind: str,
                 reported: set[str]) -> None:
        super().__init__(
            exchange_name=exchange_name, queue_name=pool, routing_key=topic,
            type='topic', durable=True,
            exchange_auto_delete=connection.amqp_auto_delete,
            queue_auto_delete=False, callback=callback,
            # Mirroring (rabbit_ha_queues) is for classic queues only.
            rabbit_ha_queues=connection.rabbit_ha_queues and kind != QUORUM,
            enable_cancel_on_failover=connection.enable_cancel_on_failover,
            rabbit_quorum_queue=kind == QUORUM,
            rabbit_quorum_queue_config=connection.rabbit_quorum_queue_config)
        self.kind = kind
        self.exchange_durable = bool(connection.durable)
        # Queue mismatches already logged, shared by the consumers of one
        # listener (one error per queue, not one per binding).
        self.reported = reported

    def declare(self, conn: Any) -> None:
        """(Re)declare after each (re)connect: take the exchange as found,
        check the queue on a spare channel, then declare and bind on the
        connection's channel as the driver does."""
        self.exchange = kombu.entity.Exchange(
            name=self.exchange_name, type=self.type,
            durable=self.exchange_durable,
            auto_delete=self.exchange_auto_delete,
            passive=_exchange_exists(conn, self.exchange_name))
        mismatch = _queue_mismatch(conn, self.queue_name,
                                   self.queue_arguments)
        if mismatch is None:
            super().declare(conn)
            return
        if mismatch not in self.reported:
            self.reported.add(mismatch)
            self._report(mismatch)
        self._bind_existing(conn)

    def _report(self, mismatch: str) -> None:
        LOG.error('Pool queue %r already exists with other properties '
                  '(%s): consuming it as it is. If it is not durable, the '
                  'notifications in it are lost at the next RabbitMQ '
                  'restart, after which bridge declares it %s. See the '
                  'README, "Nothing lost across a broker restart".',
                  self.queue_name, mismatch,
                  'a quorum queue' if self.kind == QUORUM else 'durable')

    def _bind_existing(self, conn: Any) -> None:
        channel = conn.channel
        self.exchange(channel).declare()
        channel.queue_declare(queue=self.queue_name, passive=True)
        channel.queue_bind(queue=self.queue_name,
                           exchange=self.exchange_name,
                           routing_key=self.routing_key)
        self.queue = kombu.entity.Queue(
            name=self.queue_name, channel=channel, exchange=self.exchange,
            routing_key=self.routing_key, no_declare=True)
        self._declared_on = channel


def _spare_channel(conn: Any) -> Any:
    return conn.connection.channel()


def _close(channel: Any) -> None:
    try:
        channel.close()
    except Exception:  # noqa: BLE001 - the server may have closed it
        pass


def _exchange_exists(conn: Any, name: str) -> bool:
    """True when exchange ``name`` exists, whatever its properties (a
    passive declaration on a spare channel: a 404 closes only that one)."""
    if not name:
        return True
    channel = _spare_channel(conn)
    try:
        channel.exchange_declare(exchange=name, type='topic', passive=True)
        return True
    except amqp_exceptions.NotFound:
        return False
    finally:
        _close(channel)


def _queue_mismatch(conn: Any, name: str,
                    arguments: dict[str, Any]) -> str | None:
    """None when queue ``name`` is absent or already declared as bridge
    declares it (durable, not auto-deleted, these arguments); otherwise
    RabbitMQ's reason. Only looks: an absent queue is not created here."""
    channel = _spare_channel(conn)
    try:
        try:
            channel.queue_declare(queue=name, passive=True)
        except amqp_exceptions.NotFound:
            return None
        channel = _reopen(conn, channel)
        channel.queue_declare(queue=name, durable=True, auto_delete=False,
                              arguments=arguments or None)
        return None
    except amqp_exceptions.PreconditionFailed as exc:
        return str(exc.reply_text or exc)
    finally:
        _close(channel)


def _reopen(conn: Any, channel: Any) -> Any:
    if getattr(channel, 'is_open', True):
        return channel
    _close(channel)
    return _spare_channel(conn)


def listen(driver: Any, targets_and_priorities: Any, pool: str,
           batch_size: int, batch_timeout: float | None, kind: str) -> Any:
    """The driver's ``listen_for_notifications`` with
    :class:`PoolQueueConsumer` for each (exchange, topic.priority)."""
    conn = driver._get_connection(driver_common.PURPOSE_LISTEN)
    listener = amqpdriver.NotificationAMQPListener(driver, conn)
    reported: set[str] = set()
    for target, priority in targets_and_priorities:
        conn.declare_consumer(PoolQueueConsumer(
            conn, driver._get_exchange(target),
            '%s.%s' % (target.topic, priority), pool, listener, kind,
            reported))
    return driver_base.PollStyleListenerAdapter(listener, batch_size,
                                                batch_timeout)


class PoolNotificationServer(notify_listener.BatchNotificationServer):
    """oslo.messaging's batch notification server whose RabbitMQ pool
    queue is declared by :func:`listen`."""

    def __init__(self, *args: Any, queue_kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue_kind = queue_kind

    def _create_listener(self) -> Any:
        driver = self.transport._driver
        if not self._pool or not isinstance(driver, impl_rabbit.RabbitDriver):
            return super()._create_listener()
        return listen(driver, self._targets_priorities, self._pool,
                      self._batch_size, self._batch_timeout, self.queue_kind)
