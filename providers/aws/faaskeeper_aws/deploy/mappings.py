"""The SQS event source mappings of a deployment, taken over by a Lambda emulator while it runs.

moto, given an enabled SQS event source mapping, tries to run the function in Docker on every
``SendMessage`` and, failing, leaves the messages it took with one more receive counted, which soon
moves them to the dead-letter queue. An emulator that runs the functions itself
(:mod:`faaskeeper_aws.functions.deployed`) therefore *takes over* the mappings: it disables them while it
runs and enables them again when it stops.

An emulator can be killed before it hands them back (SIGKILL, its machine lost). So a takeover is a
lease: each mapping it disables is tagged ``faaskeeper-emulator: <host> <pid> <until>`` and the tag is
renewed while the emulator runs. A mapping that is disabled and whose lease is not live (expired, its
process gone from this machine, or no tag at all) was left by an emulator that did not stop: the next
emulator takes it over, and ``fk deploy service`` enables it again (:func:`repair_mappings`). A live
lease means another emulator runs the functions: a second one is refused, and ``fk deploy`` leaves
the mapping to it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings

log = logging.getLogger("faaskeeper.aws.lambda")

TAG = "faaskeeper-emulator"
#: Seconds a takeover lasts unless renewed; it is renewed four times as often.
LEASE_SECONDS = 60.0
_ENABLED = ("Enabled", "Enabling", "Updating", "Creating")


@dataclass(frozen=True)
class Holder:
    """The emulator holding a mapping, as its tag says."""

    host: str
    pid: int
    until: float

    @staticmethod
    def parse(value: str) -> Holder | None:
        host, _, rest = value.rpartition(" ")
        host, _, pid = host.rpartition(" ")
        try:
            return Holder(host, int(pid), float(rest))
        except ValueError:
            return None

    def text(self) -> str:
        return f"{self.host} {self.pid} {self.until:.0f}"

    def alive(self, now: float) -> bool:
        """Whether the lease still holds: not expired, and its process runs if it is on this machine."""
        if now >= self.until:
            return False
        return self.host != socket.gethostname() or _process_exists(self.pid)

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@dataclass(frozen=True)
class Mapping:
    """One event source mapping of a deployment's queue."""

    uuid: str
    arn: str
    queue: str
    #: The mapping as ListEventSourceMappings returns it.
    description: dict[str, Any]
    enabled: bool
    holder: Holder | None

    def held(self, now: float) -> bool:
        """Whether a live emulator holds it."""
        return not self.enabled and self.holder is not None and self.holder.alive(now)

    @property
    def abandoned(self) -> bool:
        """Disabled with no live emulator holding it: left by one that did not stop."""
        return not self.enabled and not self.held(time.time())


def queue_mappings(settings: AwsSettings) -> list[Mapping]:
    """The event source mappings of the deployment's writer and distributor queues."""
    lam, sqs = settings.client("lambda"), settings.client("sqs")
    out: list[Mapping] = []
    for queue in (settings.names.writer_queue, settings.names.distributor_queue):
        with aws_errors(f"read the event source mappings of {queue}"):
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            found = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
        for mapping in found:
            mapping_arn = str(mapping.get("EventSourceMappingArn", ""))
            holder = None
            if mapping_arn:
                with aws_errors("read the tags of an event source mapping"):
                    tag = lam.list_tags(Resource=mapping_arn).get("Tags", {}).get(TAG)
                holder = Holder.parse(tag) if tag else None
            out.append(
                Mapping(
                    uuid=str(mapping["UUID"]),
                    arn=mapping_arn,
                    queue=queue,
                    description=dict(mapping),
                    enabled=mapping.get("State") in _ENABLED,
                    holder=holder,
                )
            )
    return out


def enable(settings: AwsSettings, mapping: Mapping) -> None:
    """Enable ``mapping`` and drop its takeover tag."""
    lam = settings.client("lambda")
    with aws_errors("enable an event source mapping"):
        lam.update_event_source_mapping(UUID=mapping.uuid, Enabled=True)
        if mapping.arn:
            lam.untag_resource(Resource=mapping.arn, TagKeys=[TAG])


def mappings_state(settings: AwsSettings) -> str:
    """The state of the deployment's queue mappings in words, for ``fk status``."""
    mappings = queue_mappings(settings)
    now = time.time()
    held = [m for m in mappings if m.held(now)]
    if held:
        return f"taken over by an emulator ({held[0].holder})"
    if any(m.abandoned for m in mappings):
        return "disabled, left by an emulator that did not stop ('fk deploy service' enables them)"
    return "enabled" if mappings else "none"


def repair_mappings(settings: AwsSettings, progress: Callable[[str], None]) -> int:
    """Enable the deployment's mappings that an emulator left disabled; returns how many.
    Those a running emulator holds are left to it."""
    repaired = 0
    for mapping in queue_mappings(settings):
        if mapping.held(time.time()):
            progress(f"the event source mapping of {mapping.queue} is held by the emulator ({mapping.holder}); kept")
        elif mapping.abandoned:
            progress(f"enabling the event source mapping of {mapping.queue}, left disabled by an emulator")
            enable(settings, mapping)
            repaired += 1
    return repaired


class Takeover:
    """Disables ``mappings`` while an emulator runs, under a lease renewed on a thread."""

    def __init__(self, settings: AwsSettings, mappings: list[Mapping], *, lease: float = LEASE_SECONDS) -> None:
        self._settings = settings
        self._mappings = mappings
        self._lease = lease
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _holder(self) -> Holder:
        return Holder(socket.gethostname(), os.getpid(), time.time() + self._lease)

    def _tag(self) -> None:
        lam = self._settings.client("lambda")
        value = self._holder().text()
        for mapping in self._mappings:
            if mapping.arn:
                with aws_errors("renew the takeover of an event source mapping"):
                    lam.tag_resource(Resource=mapping.arn, Tags={TAG: value})

    def take(self) -> None:
        """Disable the mappings under a fresh lease and keep renewing it; if that fails, enable
        again those it disabled."""
        lam = self._settings.client("lambda")
        try:
            self._tag()
            for mapping in self._mappings:
                with aws_errors("take over an event source mapping"):
                    lam.update_event_source_mapping(UUID=mapping.uuid, Enabled=False)
        except ProviderException:
            self._enable_all()
            raise
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name="faaskeeper-mapping-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self._lease / 4):
            try:
                self._tag()
            except ProviderException as err:  # e.g. the deployment was removed
                log.info("the takeover of the event source mappings was not renewed: %s", err)

    def hand_back(self) -> None:
        """Stop renewing and enable the mappings again (those already gone are skipped)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None
        self._enable_all()

    def _enable_all(self) -> None:
        for mapping in self._mappings:
            try:
                enable(self._settings, mapping)
            except ProviderException as err:  # e.g. the stack was removed first
                log.info("event source mapping %s not re-enabled: %s", mapping.uuid, err)
