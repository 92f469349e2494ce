"""Document shapes of the MongoDB driver, and their conversion to the
storage dataclasses.

Collections (field names are short: they are repeated in every document)::

    queues    _id  ObjectId: the queue's incarnation; a queue deleted and
                   created again gets a new one, so stray writes aimed at
                   the old queue can never surface in the new one
              p, n project and name (unique together)
              m    metadata, JSON text
              next last marker handed out to a writer
              seq  last committed marker: readers see markers <= seq only
              lk   {tok, to} while a stalled range is being recovered
                   (see :mod:`.sequencer`)

    messages  _id  message id (str)
              p, q project and queue name; qi the queue's incarnation
              k    marker (unique per qi)
              b    body, JSON text
              t    ttl as posted; cr created; d visible from (cr + delay)
              ex   expiry (epoch float; what queries compare)
              e    expiry as a datetime, for the TTL index (never earlier
                   than ex)
              u    poster's Client-ID
              c    id of the claim (or internal lock) holding the message
              ce   when that claim ends; 0.0 when unclaimed
              cc   how many times the message was claimed
              mv   True once the message was moved to a dead letter queue
    (tombstones, written only by stall recovery, share the collection:
     {_id: "~<qi>:<k>", qi, k, tomb: True, ex: 0.0, e}; ``ex`` 0 keeps
     them out of every query, which all require ``ex > now``.)

    claims    _id  claim id; p, q; t ttl; g grace; u last renewed;
              ce   claim expiry (float); e the same as a datetime (TTL)

    dedup     _id; p, q, key (unique together); mid the message id stored
              first; tok the writer that holds the key; st PENDING/DONE;
              at when tok took it; ex/e when the key is forgotten

Bodies and metadata are stored as JSON text, not as BSON documents: BSON
cannot hold every JSON value (integers beyond 64 bits, keys starting
with ``$``), and the driver never queries inside them.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any, Mapping

import bson

from bridge.storage import codec
from bridge.storage.models import Message

PENDING = 0
DONE = 1

#: Largest integer BSON stores (markers live in int64 fields).
MAX_INT64 = 2 ** 63 - 1
#: Page sizes above this mean "everything"; pymongo wants a 32-bit limit.
MAX_LIMIT = 2 ** 31 - 1

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def new_id() -> str:
    """A fresh, unique, roughly time-ordered id (24 hex digits)."""
    return str(bson.ObjectId())


def as_datetime(ts: float) -> datetime.datetime:
    """``ts`` rounded *up* to BSON's millisecond precision, so a TTL
    sweep never removes a document before its float expiry."""
    return _EPOCH + datetime.timedelta(milliseconds=math.ceil(ts * 1000))


def dump_json(value: Any) -> str:
    return json.dumps(value, separators=(',', ':'), ensure_ascii=False)


def load_json(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


def message_doc(*, message_id: str, project: str, queue: str, body: Any,
                ttl: int, delay: int, client_id: str | None,
                now: float) -> dict[str, Any]:
    """A message document without its queue incarnation and marker
    (``qi`` and ``k``, set when the writer reserves markers)."""
    expires = now + ttl
    return {
        '_id': message_id, 'p': project, 'q': queue,
        'b': codec.stored_text(body, dump_json), 't': ttl, 'cr': now, 'd': now + delay,
        'ex': expires, 'e': as_datetime(expires), 'u': client_id,
        'c': None, 'ce': 0.0, 'cc': 0,
    }


def to_message(doc: Mapping[str, Any], now: float) -> Message:
    claimed = doc['ce'] > now
    return Message(
        id=doc['_id'],
        body=codec.loaded_body(doc['b']),
        # The life a claim extended counts as ttl, so that a message is
        # always visible until created + ttl.
        ttl=int(round(doc['ex'] - doc['cr'])),
        created=doc['cr'],
        marker=doc['k'],
        client_id=doc.get('u'),
        claim_id=doc['c'] if claimed else None,
        claim_count=doc.get('cc', 0),
    )


# -- filters -----------------------------------------------------------------

def committed(qi: bson.ObjectId, seq: int, now: float) -> dict[str, Any]:
    """Unexpired, committed messages of one queue incarnation (delayed or
    not, claimed or not)."""
    return {'qi': qi, 'k': {'$lte': seq}, 'ex': {'$gt': now}}


def visible(qi: bson.ObjectId, seq: int, now: float) -> dict[str, Any]:
    flt = committed(qi, seq, now)
    flt['d'] = {'$lte': now}
    return flt


def claimable(qi: bson.ObjectId, seq: int, now: float) -> dict[str, Any]:
    """Visible messages that no active claim or lock holds."""
    flt = visible(qi, seq, now)
    flt['ce'] = {'$lte': now}
    return flt


def stats_pipeline(qi: bson.ObjectId, seq: int,
                   now: float) -> list[dict[str, Any]]:
    """Aggregation giving one row: counts of free, claimed and delayed
    messages, and the lowest and highest marker of the visible ones."""
    shown = {'$lte': ['$d', now]}
    return [
        {'$match': committed(qi, seq, now)},
        {'$group': {
            '_id': None,
            'delayed': {'$sum': {'$cond': [shown, 0, 1]}},
            'claimed': {'$sum': {'$cond': [
                {'$and': [shown, {'$gt': ['$ce', now]}]}, 1, 0]}},
            'free': {'$sum': {'$cond': [
                {'$and': [shown, {'$lte': ['$ce', now]}]}, 1, 0]}},
            'lo': {'$min': {'$cond': [shown, '$k', None]}},
            'hi': {'$max': {'$cond': [shown, '$k', None]}},
        }},
    ]


def parse_marker(marker: str | None) -> int | None:
    """A list marker as an integer; None (no marker) if unparseable or
    negative, and at most MAX_INT64 (which no message reaches)."""
    if marker is None:
        return None
    try:
        value = int(marker)
    except (TypeError, ValueError):
        return None
    return None if value < 0 else min(value, MAX_INT64)


def int_meta(metadata: Mapping[str, Any], key: str) -> int | None:
    """An integer reserved metadata value, or None when unset or not an
    integer (the API validates them; bad old values are ignored)."""
    value = metadata.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
