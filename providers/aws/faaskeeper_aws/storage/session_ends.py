"""Records of ended sessions whose client queues may still exist (``client-channel: sqs``).

When a session whose channel is a client queue (:mod:`faaskeeper_aws.channel.client_queues`) ends,
closed or expired, its record is written to the sessions table as the session is marked ended:
key ``session_id`` = ``ended#<session id>``, with ``session_ended`` (N, ``time.time()`` seconds)
and ``channel`` (S, the session's address). A client that stops
deletes its own queues; the heartbeat deletes those of the others a session timeout later and
then forgets the record (:func:`faaskeeper_aws.channel.client_queues.reap_ended_queues`).

Session ids are any string, so an ``ended#...`` key could also be a session's: ``session_ended``
is what marks a record, and no write to a record's key ever replaces a session or the reverse.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from faaskeeper.api.storage import SessionStatus
from faaskeeper_aws.channel.client_queues import SQS_SCHEME, queue_name
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.names import ResourceNames
from faaskeeper_aws.storage.dynamodb import Item, N, S, as_float, is_condition_failure, old_item, scan

log = logging.getLogger("faaskeeper.aws.sessions")

ENDED_PREFIX = "ended#"
#: The attribute that marks an ended session's record (a session item never has it).
ENDED = "session_ended"
_NAMES = {"sid": "session_id", "ended": ENDED, "channel": "channel", "status": "status"}


@dataclass(frozen=True)
class EndedSession:
    """A session that ended while its client's queues may still exist."""

    session_id: str
    channel: str
    ended: float


@dataclass(frozen=True)
class SessionChannels:
    """The sessions table as the heartbeat's cleanup sees it: ended sessions with client queues,
    and the names of the client queues live sessions use."""

    ended: list[EndedSession]
    live_queues: frozenset[str]


def _key(session_id: str) -> Item:
    return {"session_id": S(ENDED_PREFIX + session_id)}


def _queue_of(channel: str) -> str | None:
    return queue_name(channel[len(SQS_SCHEME) :]) if channel.startswith(SQS_SCHEME) else None


class SessionEnds:
    """Ended-session records; mixed into the sessions tables."""

    _ddb: MeteredClient
    _names: ResourceNames
    #: Whether ending a session records its client queue (the deployment's channel is SQS).
    _records_ends: bool

    def _record_end(self, session_id: str, channel: str) -> None:
        """Record, once, that ``session_id`` ended, if ``channel`` (its address) is a client queue."""
        if session_id.startswith(ENDED_PREFIX) or _queue_of(channel) is None:
            return
        record = {**_key(session_id), ENDED: N(time.time()), "channel": S(channel)}
        condition = "attribute_not_exists(#sid)"
        with aws_errors("record an ended session"):
            try:
                self._ddb.put_item(
                    TableName=self._names.sessions_table,
                    Item=record,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#sid": "session_id"},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as err:
                if not is_condition_failure(err):
                    raise
                if ENDED not in (old_item(err) or {}):
                    taken = ENDED_PREFIX + session_id
                    log.warning("a session is named %r: the queues of session %s are left", taken, session_id)

    def session_channels(self) -> SessionChannels:
        """Ended sessions with client queues and the queues live sessions use, from one Scan."""
        ended: list[EndedSession] = []
        live: set[str] = set()
        projection = "#sid, #channel, #ended, #status"
        pages = scan(
            self._ddb,
            "find ended sessions",
            TableName=self._names.sessions_table,
            ProjectionExpression=projection,
            ExpressionAttributeNames={f"#{alias}": name for alias, name in _NAMES.items()},
        )
        for item in (item for page in pages for item in page.get("Items", [])):
            channel = str(item.get("channel", {}).get("S", ""))
            if ENDED in item:
                session_id = str(item["session_id"]["S"]).removeprefix(ENDED_PREFIX)
                ended.append(EndedSession(session_id, channel, as_float(item[ENDED])))
            elif item.get("status", {}).get("S", SessionStatus.ACTIVE) != SessionStatus.ACTIVE:
                continue  # ended: its end is recorded beside it
            elif (queue := _queue_of(channel)) is not None:
                live.add(queue)
        return SessionChannels(ended, frozenset(live))

    def forget_ended_session(self, session_id: str) -> None:
        """Drop the record of ``session_id``'s end (never a session of that key)."""
        with aws_errors("forget an ended session"):
            try:
                self._ddb.delete_item(
                    TableName=self._names.sessions_table,
                    Key=_key(session_id),
                    ConditionExpression="attribute_exists(#ended)",
                    ExpressionAttributeNames={"#ended": ENDED},
                )
            except ClientError as err:
                if not is_condition_failure(err):
                    raise
