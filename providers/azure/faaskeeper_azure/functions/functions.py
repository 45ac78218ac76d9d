"""The core's functions over one Azure deployment, and how a Storage Queue message reaches them.

Kept apart from :mod:`faaskeeper_azure.functions.handlers` (the entry points the Functions host
calls with its own objects) so that tests can feed messages to functions built over other parts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.queue import QueueMessage
from faaskeeper.api.storage import SystemStorage, UserStorage
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.heartbeat import HeartbeatFunction, HeartbeatReport
from faaskeeper.protocol.sequencer import SequencedQueue
from faaskeeper.protocol.settings import FaultHook, FunctionSettings
from faaskeeper.protocol.watch_function import WatchInvoker
from faaskeeper.protocol.writer import Writer
from faaskeeper_azure.functions.watch import watch_function
from faaskeeper_azure.queues import Doorbells, OrderedWriter, SessionTurns, WriterQueue, doorbell_sequence
from faaskeeper_azure.settings import MAX_COMMIT_WRITES, AzureSettings

log = logging.getLogger("faaskeeper.azure.functions")


def function_settings(config: Config, settings: AzureSettings, faults: FaultHook | None = None) -> FunctionSettings:
    return FunctionSettings.from_config(
        config,
        lock_max_hold=settings.lock_max_hold,
        max_data_size=settings.max_data_size,
        max_commit_writes=MAX_COMMIT_WRITES,
        faults=faults,
    )


def wait_limit(settings: FunctionSettings) -> float:
    """Seconds a request waits for its session's earlier one before it is dead-lettered: long
    enough for that one to fail ``MAX_DEQUEUE`` times and for its session to expire meanwhile,
    after which the request does not wait but is refused."""
    return max(60.0, 4 * settings.session_timeout)


@dataclass
class Functions:
    """A deployment's writer, distributor and heartbeat, as one function instance holds them (the
    distributor calls the watch function, which runs in instances of its own)."""

    writer: Writer
    ordered: OrderedWriter
    distributor: Distributor
    distributor_queue: SequencedQueue
    doorbells: Doorbells
    heartbeat: HeartbeatFunction
    settings: FunctionSettings

    @staticmethod
    def over(
        settings: FunctionSettings,
        *,
        system: SystemStorage,
        user: UserStorage,
        channel: ChannelSender,
        writer_queue: WriterQueue,
        distributor_queue: SequencedQueue,
        doorbells: Doorbells,
        watch: WatchInvoker | None = None,
    ) -> Functions:
        """The functions over these parts (the distributor queue's doorbells are ``doorbells``)."""
        distributor = Distributor(system, user, channel, settings, watch, writer_queue=writer_queue)
        ordered = OrderedWriter(
            writer_queue, SessionTurns(system), system.read_session, wait_limit=wait_limit(settings)
        )
        return Functions(
            writer=Writer(system, distributor_queue, channel, settings),
            ordered=ordered,
            distributor=distributor,
            distributor_queue=distributor_queue,
            doorbells=doorbells,
            heartbeat=HeartbeatFunction(system, writer_queue, channel, settings),
            settings=settings,
        )

    @staticmethod
    def open(config: Config, faults: FaultHook | None = None) -> Functions:
        """The functions over ``config``'s deployment; ``faults`` is called at each step of each
        function (tests make a function die there)."""
        from faaskeeper_azure.deployment import AzureDeployment

        deployment = get_provider("azure").open(config)
        if not isinstance(deployment, AzureDeployment):
            raise ProviderException(f"the deployment of {config.deployment_name!r} is not an Azure deployment")
        return Functions.over(
            function_settings(config, deployment.settings, faults),
            system=deployment.system_storage,
            user=deployment.user_storage,
            channel=deployment.channel,
            writer_queue=deployment.writer_queue,
            distributor_queue=deployment.distributor_queue,
            doorbells=deployment.doorbells,
            watch=watch_function(deployment.functions_endpoint),
        )

    def on_writer(self, text: str, delivery: QueueMessage) -> None:
        """One writer-queue message (its text, and the platform's envelope). A malformed or forged
        one is dead-lettered; one early for its session's order is sent again to wait; any other
        failure raises, and the platform delivers the message again."""
        self.ordered.process(text, delivery, self.writer.handle)

    def on_distributor(self, text: str) -> int:
        """One doorbell: the log drained up to the id it names; how many events were handled."""
        return self.drain(text, self.distributor.handle)

    def drain(self, text: str, handle: Callable[[QueueMessage], None]) -> int:
        """What the distributor function does with one doorbell's text, each event of the log
        handed to ``handle`` (the core distributor's): malformed, it is dead-lettered; else the
        log is drained up to the id it names. How many events were handled."""
        try:
            upto = doorbell_sequence(text)
        except MalformedMessage as err:
            self.doorbells.dead_letter(text, str(err))
            return 0

        def dead(message: QueueMessage, reason: str) -> None:
            self.doorbells.dead_letter(f"record {message.sequence}: {message.body.decode(errors='replace')}", reason)

        return self.distributor_queue.drain(upto, handle, dead)

    def on_heartbeat(self) -> HeartbeatReport:
        """Ping every session and expire the silent ones; ring the distributor if its log is
        behind (a doorbell lost when its writer died after appending)."""
        report = self.heartbeat.run()
        allocated, applied = self.distributor_queue.positions()
        if allocated > applied:
            self.distributor_queue.ring(allocated)
        return report
