"""The core's functions over one GCP deployment, and how a Pub/Sub push reaches them.

Kept apart from :mod:`faaskeeper_gcp.functions.handlers` (the Cloud Functions entry points) so that tests
can feed events to functions built over other parts.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from faaskeeper.api.queue import QueueMessage
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.environment import getenv
from faaskeeper.protocol.heartbeat import HeartbeatFunction, HeartbeatReport
from faaskeeper.protocol.settings import FaultHook, FunctionSettings
from faaskeeper.protocol.writer import Writer
from faaskeeper_gcp.channel.inboxes import ORPHAN_AGE, reap_ended_inboxes, reap_orphan_inboxes
from faaskeeper_gcp.deploy.cloud_options import DeployOptions
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.functions.watch import HttpWatchFunction
from faaskeeper_gcp.names import ACK_DEADLINE, ENV_WATCH_URL
from faaskeeper_gcp.queues import GROUP_ATTRIBUTE, PUBLISH_ATTRIBUTE, SEQUENCE_ATTRIBUTE, doorbell_sequence
from faaskeeper_gcp.settings import MAX_COMMIT_WRITES, GcpSettings

log = logging.getLogger("faaskeeper.gcp.functions")

#: Seconds between two looks of one function instance for inboxes no session names (each costs
#: two Pub/Sub admin calls, which count against the project's admin quota).
ORPHAN_SWEEP_INTERVAL = 60.0


@dataclass(frozen=True)
class PushedMessage:
    """A Pub/Sub message as a push subscription delivers it (inside a CloudEvent's data)."""

    data: bytes
    attributes: dict[str, str]
    message_id: str
    #: Which delivery of the message this is, as the push request's ``deliveryAttempt`` says (a
    #: subscription with a dead-letter policy carries it); 0 when the request does not say.
    delivery_attempt: int = 0

    @staticmethod
    def from_event_data(event_data: Any, delivery_attempt: int = 0) -> PushedMessage:
        """The message of a CloudEvent's ``data``: ``{"message": {"data": base64, "attributes",
        "messageId"}, ...}``, as Eventarc delivers it and functions-framework converts a raw push.
        MalformedMessage if it is not shaped so."""
        message = event_data.get("message") if isinstance(event_data, dict) else None
        if not isinstance(message, dict):
            raise MalformedMessage("the event carries no Pub/Sub message")
        attributes = message.get("attributes") or {}
        if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
            raise MalformedMessage("the Pub/Sub message's attributes are not strings")
        try:
            data = base64.b64decode(str(message.get("data") or ""), validate=True)
        except (binascii.Error, ValueError) as err:
            raise MalformedMessage(f"the Pub/Sub message's data is not base64: {err}") from err
        message_id = message.get("messageId") or message.get("message_id") or ""
        return PushedMessage(data, dict(attributes), str(message_id), delivery_attempt)

    def queue_message(self) -> QueueMessage:
        """As the writer takes it: its group from ``fk-group`` (push requests do not show ordering keys),
        held until the push's ack deadline, after which Pub/Sub may push it again.

        Its receive count is the push's delivery attempt only for a message its sender published
        at the first try (``fk-publish`` is 1: a publish retried after a failure that may have
        reached Pub/Sub can be a second message with the same request, which Pub/Sub delivers
        as a first attempt too). Otherwise, or when the push does not say, it is 0: unknown, so
        any delivery is taken for a possible redelivery."""
        group = self.attributes.get(GROUP_ATTRIBUTE)
        if not group:
            raise MalformedMessage(f"writer-queue message {self.message_id} has no {GROUP_ATTRIBUTE} attribute")
        sequence = int(self.message_id) if self.message_id.isdigit() else 0
        first_publish = self.attributes.get(PUBLISH_ATTRIBUTE) == "1"
        return QueueMessage(
            body=self.data,
            sequence=sequence,
            group=group,
            message_id=self.message_id,
            receive_count=self.delivery_attempt if first_publish else 0,
            deadline=time.time() + ACK_DEADLINE,
        )


def function_settings(config: Config, settings: GcpSettings, faults: FaultHook | None = None) -> FunctionSettings:
    return FunctionSettings.from_config(
        config,
        lock_max_hold=settings.lock_max_hold,
        clock_drift=settings.clock_drift,
        max_data_size=settings.max_data_size,
        max_commit_writes=MAX_COMMIT_WRITES,
        faults=faults,
    )


def watch_function(config: Config) -> HttpWatchFunction | None:
    """The deployment's watch function as the distributor calls it: under the local function host
    at ``<functions-endpoint>/watch``; deployed to a project, at the URL its deploy gave the
    distributor (``FK_WATCH_URL``). None without either: the distributor then delivers every
    fan-out itself."""
    settings = GcpSettings.from_config(config)
    timeout = DeployOptions.from_config(config).timeout
    if settings.functions_endpoint is not None:
        return HttpWatchFunction(f"{settings.functions_endpoint}/watch", timeout=timeout, authenticated=False)
    url = getenv(ENV_WATCH_URL)
    return HttpWatchFunction(url, timeout=timeout, authenticated=True) if url else None


@dataclass
class Functions:
    """A deployment's writer, distributor and heartbeat, as one function instance holds them (the
    distributor calls the watch function, which runs in instances of its own)."""

    deployment: GcpDeployment
    writer: Writer
    distributor: Distributor
    heartbeat: HeartbeatFunction
    settings: FunctionSettings
    #: When this instance last looked for inboxes no session names.
    orphans_swept: float = -math.inf

    @staticmethod
    def open(config: Config, faults: FaultHook | None = None) -> Functions:
        """The functions over ``config``'s deployment; ``faults`` is called at each step of each
        function (tests make a function die there)."""
        deployment = GcpDeployment(config, GcpSettings.from_config(config))
        settings = function_settings(config, deployment.settings, faults)
        system, channel = deployment.system_storage, deployment.channel
        distributor = Distributor(
            system,
            deployment.user_storage,
            channel,
            settings,
            watch_function(config),
            writer_queue=deployment.writer_queue,
        )
        return Functions(
            deployment=deployment,
            writer=Writer(system, deployment.distributor_queue, channel, settings),
            distributor=distributor,
            heartbeat=HeartbeatFunction(system, deployment.writer_queue, channel, settings),
            settings=settings,
        )

    def _dead_letter(self, function: str, data: bytes, reason: str, attributes: dict[str, str]) -> None:
        log.error("dead-lettering a %s message: %s", function, reason)
        self.deployment.topics.dead_letter(function, data, reason, attributes)

    def on_writer(self, event_data: Any, delivery_attempt: int = 0) -> None:
        """One pushed writer-queue message, ``delivery_attempt`` as the push request says (0: it
        does not). A malformed or forged one is dead-lettered and acknowledged; any other failure
        raises, and Pub/Sub redelivers the message."""
        try:
            pushed = PushedMessage.from_event_data(event_data, delivery_attempt)
        except MalformedMessage as err:
            self._dead_letter("writer", json.dumps(event_data, default=str).encode(), str(err), {})
            return
        try:
            self.writer.handle(pushed.queue_message())
        except MalformedMessage as err:
            self._dead_letter("writer", pushed.data, str(err), pushed.attributes)

    def on_distributor(self, event_data: Any) -> int:
        """One doorbell: the log drained up to the id it names; how many events were handled."""
        try:
            pushed = PushedMessage.from_event_data(event_data)
            upto = doorbell_sequence(pushed.attributes)
        except MalformedMessage as err:
            self._dead_letter("distributor", json.dumps(event_data, default=str).encode(), str(err), {})
            return 0
        queue = self.deployment.distributor_queue

        def dead(message: QueueMessage, reason: str) -> None:
            self._dead_letter("distributor", message.body, reason, {SEQUENCE_ATTRIBUTE: str(message.sequence)})

        return queue.drain(upto, self.distributor.handle, dead)

    def on_heartbeat(self) -> HeartbeatReport:
        """Ping every session and expire the silent ones; ring the distributor if its log is
        behind (a doorbell lost when its writer died after appending); delete the Pub/Sub inboxes
        of sessions that ended a session timeout ago (a client that stops deletes its own, one
        that died cannot), and, at most every ORPHAN_SWEEP_INTERVAL, those of clients that died
        before registering."""
        report = self.heartbeat.run()
        queue = self.deployment.distributor_queue
        allocated, applied = queue.positions()
        if allocated > applied:
            queue.ring(allocated)
        deployment, settings = self.deployment, self.settings
        now = settings.clock()
        try:
            reap_ended_inboxes(deployment.settings, deployment.system_storage, settings.session_timeout, now)
            if now - self.orphans_swept >= ORPHAN_SWEEP_INTERVAL:
                self.orphans_swept = now
                age = ORPHAN_AGE + settings.clock_drift
                reap_orphan_inboxes(deployment.settings, deployment.system_storage, age, now)
        except ProviderException as err:
            # Left for the next heartbeat: the sessions were pinged and expired all the same.
            log.warning("client inboxes not deleted: %s", err)
        return report
