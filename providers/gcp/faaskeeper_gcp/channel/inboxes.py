"""A client's own Pub/Sub inbox (``client-channel: pubsub``): names, addresses, lifecycle.

A listener owns two topics, each with one pull subscription of the same name, all named under
the deployment's ``<prefix>-client-<id>`` (:mod:`faaskeeper_gcp.names`):

* ``<prefix>-client-<id>``: the inbox. Its address is ``pubsub:projects/<project>/topics/<name>``.
  Everything sent to it carries one ordering key and its subscription has message ordering on,
  so results, watch notifications and pings reach the client in the order they were sent.
* ``<prefix>-client-<id>-answers``: where the client answers requests (the heartbeat's pings);
  only the function that sent the request pulls it.

The client creates both when it starts, labelled with the time (``faaskeeper-created``), and
deletes them when it stops. When a session ends (closed or expired), system storage keeps its
inbox's address (:mod:`faaskeeper_gcp.storage.sessions`); the heartbeat deletes that inbox once
the session has been over for a session timeout, long enough for a client still alive to read
that it expired (:func:`reap_ended_inboxes`). A client killed before its registration leaves an
inbox that no session names: the heartbeat deletes it once it is older than any registration
takes (:func:`reap_orphan_inboxes`). ``fk remove service`` deletes every inbox of the deployment.
Subscriptions also expire after a day unused, should anything else be left behind.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from faaskeeper.exceptions import ProviderException
from faaskeeper_gcp.errors import NotFound, gcp_errors
from faaskeeper_gcp.names import ACK_DEADLINE as WRITER_ACK_DEADLINE
from faaskeeper_gcp.names import ResourceNames
from faaskeeper_gcp.settings import GcpSettings

if TYPE_CHECKING:
    from faaskeeper_gcp.storage.system import FirestoreSystemStorage

log = logging.getLogger("faaskeeper.gcp.channel")

SCHEME = "pubsub:"
#: The one ordering key of every message to an inbox.
ORDERING_KEY = "channel"
#: Every message to an inbox carries it (Pub/Sub refuses a message with neither data nor attributes).
KIND_ATTRIBUTE = "fk-kind"
SEND = "send"
REQUEST = "request"
#: On a request: its correlation id. On an answer: the id of the request it answers.
REQUEST_ATTRIBUTE = "fk-request"
ANSWER_ATTRIBUTE = "fk-answer-to"
#: Pub/Sub's shortest retention (a result nobody read in 10 minutes is of no use) and its
#: shortest expiry of an unused subscription.
RETENTION = timedelta(minutes=10)
UNUSED_EXPIRY = timedelta(days=1)
#: Seconds a pulled message stays with its puller before Pub/Sub offers it again.
ACK_DEADLINE = 30
LABELS = {"faaskeeper-role": "client-channel"}
#: The label holding when the client made its inbox (whole seconds since the epoch, its clock).
CREATED_LABEL = "faaskeeper-created"
#: Seconds an inbox that no session names is kept after it was made, for its client to register.
#: A client waits for its registration its timeout (30 s by default), then deletes the inbox
#: itself; the writer answers a registration it took, or Pub/Sub offers it to the writer again,
#: within the writer's ack deadline.
ORPHAN_AGE = float(WRITER_ACK_DEADLINE)


def is_inbox_address(address: str) -> bool:
    return address.startswith(SCHEME)


@dataclass(frozen=True)
class ClientInbox:
    """One client's inbox and answer topics and subscriptions."""

    project: str
    names: ResourceNames
    client_id: str

    @property
    def topic_id(self) -> str:
        return self.names.client_inbox(self.client_id)

    @property
    def answers_id(self) -> str:
        return self.names.client_answers(self.client_id)

    @property
    def topic(self) -> str:
        return f"projects/{self.project}/topics/{self.topic_id}"

    @property
    def subscription(self) -> str:
        return f"projects/{self.project}/subscriptions/{self.topic_id}"

    @property
    def answers_topic(self) -> str:
        return f"projects/{self.project}/topics/{self.answers_id}"

    @property
    def answers_subscription(self) -> str:
        return f"projects/{self.project}/subscriptions/{self.answers_id}"

    @property
    def address(self) -> str:
        return SCHEME + self.topic

    @staticmethod
    def of(settings: GcpSettings, address: str) -> ClientInbox:
        """The inbox at ``address``; ProviderException unless it is a client inbox of this deployment
        (so that a session cannot have functions publish to any other topic)."""
        if not is_inbox_address(address):
            raise ProviderException(f"Not a Pub/Sub channel address: {address!r}")
        topic = address[len(SCHEME) :]
        client_id = settings.names.client_id(topic)
        inbox = ClientInbox(settings.project, settings.names, client_id) if client_id else None
        if inbox is None or inbox.topic != topic:
            raise ProviderException(f"{address!r} is not a client inbox of this deployment")
        return inbox


def create_inbox(settings: GcpSettings, client_id: str, clock: Callable[[], float] = time.time) -> ClientInbox:
    """Create a client's inbox and answer topics with their subscriptions, labelled with the time."""
    inbox = ClientInbox(settings.project, settings.names, client_id)
    publisher, subscriber = settings.publisher(), settings.subscriber()
    labels = {**LABELS, CREATED_LABEL: str(int(clock()))}
    for topic, subscription, ordered in (
        (inbox.topic, inbox.subscription, True),
        (inbox.answers_topic, inbox.answers_subscription, False),
    ):
        with gcp_errors(f"create the client topic {topic}"):
            publisher.create_topic(request={"name": topic, "labels": labels})
            subscriber.create_subscription(
                request={
                    "name": subscription,
                    "topic": topic,
                    "enable_message_ordering": ordered,
                    "ack_deadline_seconds": ACK_DEADLINE,
                    "message_retention_duration": RETENTION,
                    "expiration_policy": {"ttl": UNUSED_EXPIRY},
                    "labels": labels,
                }
            )
    return inbox


def delete_inbox(settings: GcpSettings, inbox: ClientInbox) -> None:
    """Delete a client's subscriptions and topics (those already gone are skipped)."""
    publisher, subscriber = settings.publisher(), settings.subscriber()
    for subscription in (inbox.subscription, inbox.answers_subscription):
        with gcp_errors(f"delete the client subscription {subscription}"), contextlib.suppress(NotFound):
            subscriber.delete_subscription(request={"subscription": subscription})
    for topic in (inbox.topic, inbox.answers_topic):
        with gcp_errors(f"delete the client topic {topic}"), contextlib.suppress(NotFound):
            publisher.delete_topic(request={"topic": topic})


def _listed(settings: GcpSettings) -> tuple[list[Any], list[Any]]:
    """The deployment's client topics and client subscriptions, as Pub/Sub lists them (with labels)."""
    project = f"projects/{settings.project}"
    names = settings.names
    with gcp_errors("list the client topics"):
        topics = [t for t in settings.publisher().list_topics(request={"project": project}) if names.client_id(t.name)]
    with gcp_errors("list the client subscriptions"):
        subscriptions = [
            s for s in settings.subscriber().list_subscriptions(request={"project": project}) if names.client_id(s.name)
        ]
    return topics, subscriptions


def client_resources(settings: GcpSettings) -> tuple[list[str], list[str]]:
    """The names of the deployment's client topics and client subscriptions that exist."""
    topics, subscriptions = _listed(settings)
    short = [sorted(r.name.rpartition("/")[2] for r in found) for found in (topics, subscriptions)]
    return short[0], short[1]


def delete_all_inboxes(settings: GcpSettings) -> int:
    """Delete every client inbox of the deployment, whoever holds it; how many there were."""
    topics, subscriptions = client_resources(settings)
    ids = {settings.names.client_id(name) for name in [*topics, *subscriptions]}
    for client_id in sorted(i for i in ids if i):
        delete_inbox(settings, ClientInbox(settings.project, settings.names, client_id))
    return len(ids)


def reap_ended_inboxes(settings: GcpSettings, system: FirestoreSystemStorage, grace: float, now: float) -> int:
    """Delete the inboxes of sessions that ended at least ``grace`` seconds before ``now``; how many."""
    reaped = 0
    for ended in system.ended_sessions(before=now - grace):
        try:
            inbox = ClientInbox.of(settings, ended.channel)
        except ProviderException as err:
            log.warning("not deleting the inbox of ended session %s: %s", ended.session_id, err)
        else:
            delete_inbox(settings, inbox)
            reaped += 1
        system.forget_ended_session(ended.session_id)
    return reaped


def _made(resources: Iterable[Any], names: ResourceNames) -> dict[str, float]:
    """When each client made its inbox, by client id, from the labels of its topics and
    subscriptions; ``inf`` for one none of which is labelled (its age is not known)."""
    made: dict[str, float] = {}
    for resource in resources:
        client_id = names.client_id(resource.name)
        label = resource.labels.get(CREATED_LABEL, "")
        if client_id is not None:
            made[client_id] = min(made.get(client_id, math.inf), float(label) if label.isdigit() else math.inf)
    return made


def _named(settings: GcpSettings, system: FirestoreSystemStorage) -> set[str]:
    """The client ids whose inboxes a session names: one registered (whatever its status), or one
    that ended and whose inbox waits for :func:`reap_ended_inboxes`."""
    channels = [s.channel for s in system.list_sessions()]
    channels += [ended.channel for ended in system.ended_sessions(before=math.inf)]
    return {
        client_id
        for channel in channels
        if is_inbox_address(channel) and (client_id := settings.names.client_id(channel[len(SCHEME) :]))
    }


def reap_orphan_inboxes(settings: GcpSettings, system: FirestoreSystemStorage, age: float, now: float) -> int:
    """Delete the inboxes that no session names and that were made at least ``age`` seconds before
    ``now`` (their clients died before registering); how many.

    The inboxes are listed before the sessions are read, so one whose client registered in
    between is seen named; one made less than ``age`` ago may belong to a client whose
    registration is on its way, and is left."""
    topics, subscriptions = _listed(settings)
    made = _made([*topics, *subscriptions], settings.names)
    named = _named(settings, system)
    orphans = sorted(client for client, created in made.items() if client not in named and created <= now - age)
    for client_id in orphans:
        log.info("deleting the inbox of client %s, which no session names", client_id)
        delete_inbox(settings, ClientInbox(settings.project, settings.names, client_id))
    return len(orphans)
