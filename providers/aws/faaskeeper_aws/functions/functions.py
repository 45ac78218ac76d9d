"""The core's functions over one AWS deployment, and how an SQS batch runs through them.

Kept apart from :mod:`faaskeeper_aws.functions.handlers` (the Lambda entry points) so that tests can run
a batch through functions built over other parts.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from faaskeeper.api.queue import QueueMessage
from faaskeeper.config import ClientChannel, Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.batch import run_batch
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.heartbeat import HeartbeatFunction, HeartbeatReport
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.writer import Writer
from faaskeeper_aws.channel import client_queues
from faaskeeper_aws.channel.client_queues import reap_ended_queues, reap_orphaned_queues
from faaskeeper_aws.deploy.tunables import DeployOptions
from faaskeeper_aws.deployment import AwsDeployment
from faaskeeper_aws.functions.events import Event, batch_response, queue_message
from faaskeeper_aws.functions.watch import LambdaWatchFunction
from faaskeeper_aws.queues import SqsQueue, sqs_client
from faaskeeper_aws.settings import MAX_COMMIT_WRITES, AwsSettings

log = logging.getLogger("faaskeeper.aws.functions")

#: Seconds before its invocation ends that the heartbeat starts deleting no more client queues
#: (a session's take three requests, each with botocore's retries); the rest wait for the next run.
CLEANUP_MARGIN = 5.0


def function_settings(config: Config, settings: AwsSettings, lease_key: bytes | None = None) -> FunctionSettings:
    options = DeployOptions.from_config(config)
    return FunctionSettings.from_config(
        config,
        lease_key=lease_key,
        lock_max_hold=settings.lock_max_hold,
        clock_drift=settings.clock_drift,
        max_data_size=settings.max_data_size,
        max_commit_writes=MAX_COMMIT_WRITES,
        # A message shows again after each visibility timeout until it is dead-lettered.
        redelivery_window=float(options.visibility_timeout * options.max_receive_count),
        # A DynamoDB or S3 request with botocore's retries, within a tenth of the function's time.
        delivery_margin=min(1.0, options.function_timeout / 10),
    )


@dataclass
class Functions:
    """A deployment's writer, distributor and heartbeat, as one Lambda container holds them (the
    distributor invokes the watch function, which runs in containers of its own)."""

    writer_queue: SqsQueue
    distributor_queue: SqsQueue
    writer: Writer
    distributor: Distributor
    heartbeat: HeartbeatFunction
    #: Deletes, until the ``time.time()`` deadline it is given, the client queues of sessions
    #: that ended a session timeout ago, and those of clients that died before registering; how
    #: many clients' (``client-channel: sqs`` only).
    delete_ended_queues: Callable[[float], int] | None = None

    @staticmethod
    def open(config: Config) -> Functions:
        deployment = AwsDeployment(config, AwsSettings.from_config(config))
        system, channel = deployment.system_storage, deployment.channel
        settings = function_settings(config, deployment.settings, system.lease_key())
        cleanup: Callable[[float], int] | None = None
        if deployment.settings.client_channel is ClientChannel.SQS:
            sqs, names = sqs_client(deployment.settings), deployment.settings.names

            def delete_ended_queues(deadline: float) -> int:
                grace, now = settings.session_timeout, settings.clock()
                channels = system.session_channels()
                ended = reap_ended_queues(sqs, names, system, grace, now, deadline=deadline, channels=channels)
                window = client_queues.REGISTRATION_WINDOW
                return ended + reap_orphaned_queues(sqs, names, channels, now, window=window, deadline=deadline)

            cleanup = delete_ended_queues

        watch_function = LambdaWatchFunction(deployment.settings, DeployOptions.from_config(config).function_timeout)
        return Functions(
            writer_queue=deployment.writer_queue,
            distributor_queue=deployment.distributor_queue,
            writer=Writer(system, deployment.distributor_queue, channel, settings),
            distributor=Distributor(
                system,
                deployment.user_storage,
                channel,
                settings,
                watch_function,
                writer_queue=deployment.writer_queue,
            ),
            heartbeat=HeartbeatFunction(system, deployment.writer_queue, channel, settings),
            delete_ended_queues=cleanup,
        )

    def on_heartbeat(self, *, deadline: float = math.inf) -> HeartbeatReport:
        """Ping every session and expire the silent ones; then, until :data:`CLEANUP_MARGIN`
        before the invocation's ``deadline``, delete the client queues of sessions that ended a
        session timeout ago (a client that stops deletes its own, one that died cannot; one still
        alive has read meanwhile that its session expired), and those no session names that are
        older than a registration takes (their client died before registering)."""
        report = self.heartbeat.run()
        if self.delete_ended_queues is not None:
            try:
                deleted = self.delete_ended_queues(deadline - CLEANUP_MARGIN)
            except ProviderException as err:
                # Left for the next heartbeat: the sessions were pinged and expired all the same.
                log.warning("client queues of ended sessions not deleted: %s", err)
            else:
                if deleted:
                    log.info("deleted the client queues of %d ended sessions and dead clients", deleted)
        return report


class HeldMessages:
    """Messages this process's functions asked SQS to deliver again only later (a close holding
    up its session's group until the session's leases have run out), by queue. They are not
    work waiting to be done: the Lambda emulator does not wait for them when it waits for idle."""

    def __init__(self) -> None:
        self._until: dict[str, dict[str, float]] = {}
        self._guard = threading.Lock()

    def hold(self, queue: str, message_id: str, until: float) -> None:
        with self._guard:
            self._until.setdefault(queue, {})[message_id] = until

    def settle(self, queue: str, message_ids: Iterable[str]) -> None:
        with self._guard:
            held = self._until.get(queue, {})
            for message_id in message_ids:
                held.pop(message_id, None)

    def count(self, queue: str, now: float) -> int:
        """Messages of ``queue`` still held at ``now``."""
        with self._guard:
            return sum(1 for until in self._until.get(queue, {}).values() if until > now)


#: The messages held by the functions running in this process.
HELD = HeldMessages()


def invocation_deadline(context: Any) -> float:
    """When the invocation that ``context`` belongs to ends, in ``time.time()`` seconds."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return time.time() + remaining() / 1000 if remaining is not None else math.inf


def process_batch(
    event: Event, queue: SqsQueue, handle: Callable[[QueueMessage], None], *, deadline: float = math.inf
) -> Event:
    """Run an SQS event's records through ``handle`` in order; the Lambda partial-batch response.

    A failed message is reported with every later message of its group (FIFO). A malformed or
    forged one is sent to ``queue``'s dead-letter queue and reported done, so it is neither
    retried nor applied; if even that fails, it is reported failed and retried. ``deadline``
    (``time.time()`` seconds) is when the invocation ends: Lambda kills it then, before the
    queue's visibility timeout (at least the function's timeout) lets SQS deliver a message again."""
    records = event.get("Records", [])
    messages = [replace(queue_message(record), deadline=deadline) for record in records]
    offloaded: dict[str, str | None] = {}

    def run(message: QueueMessage) -> None:
        decoded = queue.decode(message.body.decode())
        handle(replace(message, body=decoded.body))
        offloaded[message.message_id] = decoded.key

    result = run_batch(messages, run)
    failed = list(result.failed)
    for message in failed:
        delay = result.delays.get(message.message_id)
        if delay is None:
            continue
        try:
            # Delivered again once it can go on, rather than after the queue's visibility timeout.
            queue.release(message, delay)
        except ProviderException as err:
            log.warning("message %s is delivered again after the visibility timeout: %s", message.message_id, err)
        else:
            HELD.hold(queue.name, message.message_id, time.time() + delay)
    HELD.settle(queue.name, [m.message_id for m in result.succeeded])
    for message, reason in result.dead:
        try:
            queue.forward_dead_letter(
                message.body.decode(), message.group, message.message_id, message.sequence, reason
            )
        except ProviderException as err:
            log.error("message %s could not be dead-lettered; it will be redelivered: %s", message.message_id, err)
            failed.append(message)
    for message in result.succeeded:
        try:
            queue.payloads.discard(offloaded.get(message.message_id))
        except ProviderException as err:
            log.warning("offloaded body of message %s not deleted: %s", message.message_id, err)
    order = {m.message_id: i for i, m in enumerate(messages)}
    return batch_response(sorted(failed, key=lambda m: order[m.message_id]))
