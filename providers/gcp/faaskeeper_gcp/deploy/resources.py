"""``fk deploy service``, ``fk deploy functions``, and ``fk remove service`` on GCP.

A deployment is, on Pub/Sub, a topic per pushed function (``writer``, ``distributor``, ``heartbeat``)
with a push subscription to the function (message ordering on, a dead-letter policy, an ack
deadline longer than a function runs), and a dead-letter topic per function with a pull
subscription that keeps what was dead-lettered; in Firestore, the document
``faaskeeper/<deployment>`` with the root node in system and user storage and the distributor's
log. Clients with ``client-channel: pubsub`` add their own inboxes
(:mod:`faaskeeper_gcp.channel.inboxes`), which remove deletes too. Push subscriptions deliver to
``gcp.functions-endpoint`` where one is given (functions-framework, e.g.
:mod:`faaskeeper_gcp.functions.host`, against the emulators); without it, to the Cloud Functions
deployed to the project with a Cloud Scheduler job for the heartbeat (:mod:`faaskeeper_gcp.deploy.cloud`).
The watch function has no topic: the distributor calls it over HTTP (``<endpoint>/watch``, or
its Cloud Function's URL).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from google.api_core import exceptions as google_errors

from faaskeeper.api.provider import SILENT, Reporter
from faaskeeper.config import Config
from faaskeeper_gcp.channel.inboxes import delete_all_inboxes
from faaskeeper_gcp.deploy import cloud as cloud_deploy
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.names import ACK_DEADLINE, PUSHED_FUNCTIONS
from faaskeeper_gcp.settings import GcpSettings

log = logging.getLogger("faaskeeper.gcp.deploy")

#: Deliveries of a failing message before Pub/Sub moves it to the dead-letter topic (5 to 100).
#: With the backoff below (0.1 s doubling to 10 s) 20 attempts span over a minute: longer than a
#: dead writer's lock is held, so a request waiting for one is not dead-lettered.
MAX_DELIVERY_ATTEMPTS = 20


def _create(action: str, call: Any) -> None:
    with gcp_errors(action), contextlib.suppress(google_errors.AlreadyExists):
        call()


def _push_configs(config: Config, settings: GcpSettings, reporter: Reporter) -> Mapping[str, Mapping[str, object]]:
    """Where each function's push subscription delivers: under the functions endpoint, or to the
    Cloud Functions deployed now (``config`` is what they read)."""
    if settings.functions_endpoint is not None:
        return {
            function: {"push_endpoint": f"{settings.functions_endpoint}/{function}"} for function in PUSHED_FUNCTIONS
        }
    return cloud_deploy.deploy_functions(cloud_deploy.connect(config, settings), config, settings, reporter=reporter)


def _point(settings: GcpSettings, push: Mapping[str, Mapping[str, object]]) -> None:
    subscriber = settings.subscriber()
    for function in PUSHED_FUNCTIONS:
        name = f"projects/{settings.project}/subscriptions/{settings.names.push_subscription(function)}"
        with gcp_errors(f"update subscription {name}"):
            subscriber.modify_push_config(request={"subscription": name, "push_config": push[function]})


def create_pubsub(settings: GcpSettings, push: Mapping[str, Mapping[str, object]]) -> None:
    """The topics and subscriptions; existing push subscriptions are pointed at ``push`` again."""
    names, project = settings.names, settings.project
    publisher, subscriber = settings.publisher(), settings.subscriber()
    for topic in names.topics:
        _create(f"create topic {topic}", lambda t=topic: publisher.create_topic(name=f"projects/{project}/topics/{t}"))
    for function in PUSHED_FUNCTIONS:
        dead_topic = f"projects/{project}/topics/{names.dead_letter_topic(function)}"
        dead = f"projects/{project}/subscriptions/{names.dead_letter_subscription(function)}"
        _create(
            f"create subscription {dead}",
            lambda d=dead, t=dead_topic: subscriber.create_subscription(request={"name": d, "topic": t}),
        )
        request = {
            "name": f"projects/{project}/subscriptions/{names.push_subscription(function)}",
            "topic": f"projects/{project}/topics/{names.topic(function)}",
            "push_config": push[function],
            "enable_message_ordering": True,
            "ack_deadline_seconds": ACK_DEADLINE,
            "dead_letter_policy": {"dead_letter_topic": dead_topic, "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS},
            "retry_policy": {"minimum_backoff": timedelta(seconds=0.1), "maximum_backoff": timedelta(seconds=10)},
        }
        _create(f"create subscription {request['name']}", lambda r=request: subscriber.create_subscription(request=r))
    _point(settings, push)


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
    if settings.functions_endpoint is None:
        cloud_deploy.connect(config, settings)  # a config that cannot be deployed fails before anything changes
    if clean:
        remove_service(config, settings, reporter=reporter)
    out = config.serialize()
    out.update({"user-storage": "key-value", "worker-queue": "pubsub", "distributor-queue": "pubsub"})
    deployed = Config.deserialize(out)
    push = _push_configs(deployed, settings, reporter)
    reporter.step(f"creating the Pub/Sub topics and subscriptions of {settings.names.deployment!r}")
    create_pubsub(settings, push)
    if settings.functions_endpoint is None:
        cloud_deploy.deploy_schedule(cloud_deploy.connect(config, settings), settings, reporter=reporter)
    reporter.step("creating the Firestore documents: the root node, the distributor's log")
    deployment = GcpDeployment(config, settings)
    try:
        create_firestore(deployment)
    finally:
        deployment.close()
    return deployed


def deploy_functions(config: Config, settings: GcpSettings, *, reporter: Reporter = SILENT) -> None:
    """Point the push subscriptions at the functions at ``gcp.functions-endpoint`` now, or deploy the
    current code to the project's Cloud Functions (and its schedule) and point them there."""
    if settings.functions_endpoint is not None:
        reporter.step(f"pointing the push subscriptions at {settings.functions_endpoint}")
    _point(settings, _push_configs(config, settings, reporter))
    if settings.functions_endpoint is None:
        cloud_deploy.deploy_schedule(cloud_deploy.connect(config, settings), settings, reporter=reporter)


def remove_service(config: Config, settings: GcpSettings, *, reporter: Reporter = SILENT) -> None:
    """Delete the scheduler job and Cloud Functions (in a real project), the subscriptions, topics
    (the clients' inboxes too) and Firestore documents of the deployment (none is an error)."""
    names, project = settings.names, settings.project
    if settings.functions_endpoint is None:
        cloud_deploy.remove(cloud_deploy.connect(config, settings, deploying=False), settings, reporter=reporter)
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
