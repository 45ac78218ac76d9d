"""``fk deploy service``, ``fk deploy functions``, and ``fk remove service`` on GCP.

A deployment is, on Pub/Sub, a topic per function (``writer``, ``distributor``, ``heartbeat``)
with a push subscription to the function (message ordering on, a dead-letter policy, an ack
deadline longer than a function runs), and a dead-letter topic per function with a pull
subscription that keeps what was dead-lettered; in Firestore, the document
``faaskeeper/<deployment>`` with the root node in system and user storage and the distributor's
log. Clients with ``client-channel: pubsub`` add their own inboxes
(:mod:`faaskeeper_gcp.client_inboxes`), which remove deletes too. Push subscriptions deliver to
``gcp.functions-endpoint`` (functions-framework, e.g. :mod:`faaskeeper_gcp.function_host`).
Creating the Cloud Functions themselves and a Cloud Scheduler job in a real project is not
implemented: a config without ``functions-endpoint`` is refused with that explanation.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from google.api_core import exceptions as google_errors

from faaskeeper.api.provider import SILENT, Reporter
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_gcp.client_inboxes import delete_all_inboxes
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.names import ACK_DEADLINE, FUNCTIONS
from faaskeeper_gcp.settings import GcpSettings

log = logging.getLogger("faaskeeper.gcp.deploy")

#: Deliveries of a failing message before Pub/Sub moves it to the dead-letter topic (5 to 100).
#: With the backoff below (0.1 s doubling to 10 s) 20 attempts span over a minute: longer than a
#: dead writer's lock is held, so a request waiting for one is not dead-lettered.
MAX_DELIVERY_ATTEMPTS = 20


def _require_endpoint(settings: GcpSettings) -> str:
    if settings.functions_endpoint is None:
        raise ConfigurationException(
            "Config key 'gcp.functions-endpoint' is required: deploying Cloud Functions and a Cloud Scheduler job to "
            "a real project is not implemented; serve the functions with functions-framework "
            '(python -m faaskeeper_gcp.function_host CONFIG) and give its URL, e.g. "http://127.0.0.1:8080"'
        )
    return settings.functions_endpoint


def _create(action: str, call: Any) -> None:
    with gcp_errors(action), contextlib.suppress(google_errors.AlreadyExists):
        call()


def _push_config(endpoint: str, function: str) -> dict[str, str]:
    return {"push_endpoint": f"{endpoint}/{function}"}


def create_pubsub(settings: GcpSettings) -> None:
    endpoint = _require_endpoint(settings)
    names, project = settings.names, settings.project
    publisher, subscriber = settings.publisher(), settings.subscriber()
    for topic in names.topics:
        _create(f"create topic {topic}", lambda t=topic: publisher.create_topic(name=f"projects/{project}/topics/{t}"))
    for function in FUNCTIONS:
        dead_topic = f"projects/{project}/topics/{names.dead_letter_topic(function)}"
        dead = f"projects/{project}/subscriptions/{names.dead_letter_subscription(function)}"
        _create(
            f"create subscription {dead}",
            lambda d=dead, t=dead_topic: subscriber.create_subscription(request={"name": d, "topic": t}),
        )
        request = {
            "name": f"projects/{project}/subscriptions/{names.push_subscription(function)}",
            "topic": f"projects/{project}/topics/{names.topic(function)}",
            "push_config": _push_config(endpoint, function),
            "enable_message_ordering": True,
            "ack_deadline_seconds": ACK_DEADLINE,
            "dead_letter_policy": {"dead_letter_topic": dead_topic, "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS},
            "retry_policy": {"minimum_backoff": timedelta(seconds=0.1), "maximum_backoff": timedelta(seconds=10)},
        }
        _create(f"create subscription {request['name']}", lambda r=request: subscriber.create_subscription(request=r))


def create_firestore(deployment: GcpDeployment) -> None:
    settings = deployment.settings
    deployment.documents.set(
        deployment.documents.root,
        {"deployment": settings.names.deployment, "created": time.time(), "functions": settings.functions_endpoint},
        "create the deployment document",
    )
    deployment.system_storage.ensure_root()
    deployment.user_storage.ensure_root()
    deployment.distributor_queue.ensure()


def deploy_service(
    config: Config, settings: GcpSettings, *, clean: bool = False, reporter: Reporter = SILENT
) -> Config:
    _require_endpoint(settings)
    if clean:
        remove_service(config, settings, reporter=reporter)
    reporter.step(f"creating the Pub/Sub topics and subscriptions of {settings.names.deployment!r}")
    create_pubsub(settings)
    reporter.step("creating the Firestore documents: the root node, the distributor's log")
    deployment = GcpDeployment(config, settings)
    try:
        create_firestore(deployment)
    finally:
        deployment.close()
    out = config.serialize()
    out.update({"user-storage": "key-value", "worker-queue": "pubsub", "distributor-queue": "pubsub"})
    return Config.deserialize(out)


def deploy_functions(config: Config, settings: GcpSettings, *, reporter: Reporter = SILENT) -> None:
    """Point the push subscriptions at the functions served at ``gcp.functions-endpoint`` now."""
    endpoint = _require_endpoint(settings)
    reporter.step(f"pointing the push subscriptions at {endpoint}")
    subscriber = settings.subscriber()
    for function in FUNCTIONS:
        name = f"projects/{settings.project}/subscriptions/{settings.names.push_subscription(function)}"
        with gcp_errors(f"update subscription {name}"):
            subscriber.modify_push_config(
                request={"subscription": name, "push_config": _push_config(endpoint, function)}
            )


def remove_service(config: Config, settings: GcpSettings, *, reporter: Reporter = SILENT) -> None:
    """Delete the subscriptions, topics (the clients' inboxes too) and Firestore documents of the
    deployment (none is an error)."""
    names, project = settings.names, settings.project
    reporter.step(f"deleting the Pub/Sub subscriptions and topics of {names.deployment!r}")
    delete_all_inboxes(settings)
    subscriber, publisher = settings.subscriber(), settings.publisher()
    for subscription in names.subscriptions:
        with gcp_errors(f"delete subscription {subscription}"), contextlib.suppress(google_errors.NotFound):
            subscriber.delete_subscription(subscription=f"projects/{project}/subscriptions/{subscription}")
    for topic in names.topics:
        with gcp_errors(f"delete topic {topic}"), contextlib.suppress(google_errors.NotFound):
            publisher.delete_topic(topic=f"projects/{project}/topics/{topic}")
    reporter.step("deleting the deployment's Firestore documents")
    deployment = GcpDeployment(config, settings)
    try:
        deployment.documents.recursive_delete("delete the deployment's documents")
    finally:
        deployment.close()
