"""Names of a deployment's Google Cloud resources, and the environment its functions read.

Every module of the provider (runtime, deploy, tests) derives names from here, so a deployment
named ``dev`` is ``faaskeeper-dev-*`` on Pub/Sub and ``faaskeeper/dev`` in Firestore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faaskeeper.exceptions import ConfigurationException
from faaskeeper.protocol import environment

#: Seconds Pub/Sub waits for a function's answer before redelivering (its maximum); functions
#: time out sooner, so a doorbell is never redelivered while its distributor still runs.
ACK_DEADLINE = 600

#: The client config as JSON, set on every function (as ``FK_CONFIG`` on AWS).
ENV_CONFIG = environment.ENV_CONFIG  # the client config as JSON, which the functions read
#: The watch function's URL, set on the distributor deployed to a project (under a local
#: function host the distributor calls ``<functions-endpoint>/watch``).
ENV_WATCH_URL = "FK_WATCH_URL"
#: The functions fed by the push subscription of their own topic.
PUSHED_FUNCTIONS = ("writer", "distributor", "heartbeat")
#: The functions a deployment has: those, and the watch function, which the distributor calls
#: over HTTP for a fan-out over ``watch-fanout`` clients.
FUNCTIONS = (*PUSHED_FUNCTIONS, "watch")
#: Pub/Sub topic ids allow more, Firestore document ids and Cloud Functions names allow less.
_DEPLOYMENT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]{0,39}$")
#: The variables that point Google's clients at the emulators (``python -m faaskeeper_gcp.emulator.servers``
#: prints them); without them the clients talk to Google Cloud with the default credentials.
FIRESTORE_EMULATOR = "FIRESTORE_EMULATOR_HOST"
PUBSUB_EMULATOR = "PUBSUB_EMULATOR_HOST"
EMULATOR_VARIABLES = (FIRESTORE_EMULATOR, PUBSUB_EMULATOR)
#: Client ids are this many hex digits.
CLIENT_ID_LENGTH = 16
#: Ends the names of a client's answer topic and subscription.
ANSWERS_SUFFIX = "-answers"
#: What follows ``<prefix>-client-`` in a client's topics and subscriptions: its id, then the
#: suffix on the answer pair. Exact, so that another deployment named ``<name>-client-...`` is
#: never taken for a client of this one.
_CLIENT = re.compile(rf"([0-9a-f]{{{CLIENT_ID_LENGTH}}})({ANSWERS_SUFFIX})?")


@dataclass(frozen=True)
class ResourceNames:
    deployment: str

    def __post_init__(self) -> None:
        if not _DEPLOYMENT.match(self.deployment):
            raise ConfigurationException(
                f"Config key 'deployment-name' must be 1-40 letters, digits or '-' (starting with a letter or "
                f"digit) on GCP, where it names topics, functions and documents; got {self.deployment!r}"
            )

    @property
    def prefix(self) -> str:
        return f"faaskeeper-{self.deployment}"

    # Pub/Sub
    def topic(self, function: str) -> str:
        """The topic feeding ``function`` (writer requests, distributor doorbells, heartbeat ticks)."""
        return f"{self.prefix}-{function}"

    def dead_letter_topic(self, function: str) -> str:
        return f"{self.prefix}-{function}-dead"

    def push_subscription(self, function: str) -> str:
        """The push subscription delivering ``function``'s topic to the function."""
        return f"{self.prefix}-{function}-push"

    def dead_letter_subscription(self, function: str) -> str:
        """A pull subscription keeping what was dead-lettered for inspection (a topic alone drops it)."""
        return f"{self.prefix}-{function}-dead-letters"

    def function_name(self, function: str) -> str:
        return f"{self.prefix}-{function}"

    def client_inbox(self, client_id: str) -> str:
        """A client's inbox topic and the subscription it pulls (``client-channel: pubsub``)."""
        return f"{self.prefix}-client-{client_id}"

    def client_answers(self, client_id: str) -> str:
        """The topic, and the subscription a function pulls, where a client answers requests (pings)."""
        return f"{self.client_inbox(client_id)}{ANSWERS_SUFFIX}"

    def client_id(self, name: str) -> str | None:
        """The client id of one of this deployment's client topics or subscriptions (a name or a
        full resource path); None for anything else."""
        short = name.rpartition("/")[2]
        head = f"{self.prefix}-client-"
        found = _CLIENT.fullmatch(short[len(head) :]) if short.startswith(head) else None
        return found.group(1) if found else None

    @property
    def topics(self) -> list[str]:
        return [*(self.topic(f) for f in PUSHED_FUNCTIONS), *(self.dead_letter_topic(f) for f in PUSHED_FUNCTIONS)]

    @property
    def subscriptions(self) -> list[str]:
        return [
            *(self.push_subscription(f) for f in PUSHED_FUNCTIONS),
            *(self.dead_letter_subscription(f) for f in PUSHED_FUNCTIONS),
        ]

    # Firestore: one document per deployment, everything else in its subcollections.
    @property
    def root_collection(self) -> str:
        return "faaskeeper"

    @property
    def root_document(self) -> str:
        return self.deployment
