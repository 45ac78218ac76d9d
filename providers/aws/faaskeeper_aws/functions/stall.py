"""Why a write to an AWS deployment got no answer in time, as far as the deployment shows it.

Asked by the client only after a write timed out (:meth:`AwsDeployment.diagnose_stalled_write`):
if the request still waits in the writer queue, no writer took it, and the event source mappings
tell why: on an emulated AWS no emulator runs the functions; on AWS the mapping is disabled.
"""

from __future__ import annotations

import time

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.channel.client_queues import queue_missing
from faaskeeper_aws.deploy.mappings import queue_mappings
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings

EMULATE = "python -m faaskeeper_aws.emulator CONFIG"


def diagnose_stalled_write(settings: AwsSettings) -> str | None:
    """A hint for a write that timed out, or None when the deployment shows nothing wrong (or the
    caller may not look: a client's credentials need not read Lambda)."""
    queue = settings.names.writer_queue
    try:
        waiting = _waiting(settings, queue)
        if waiting is None:
            return f"the writer queue {queue} does not exist: deployment {settings.names.deployment!r} was removed"
        if waiting == 0:
            return None  # a writer finished it: the answer is late, not lost
        mappings = [m for m in queue_mappings(settings) if m.queue == queue]
    except ProviderException:
        return None
    untaken = f"no writer took the request: {waiting} not done in {queue}"
    if settings.emulated:
        if any(m.held(time.time()) for m in mappings):
            return None  # an emulator runs the functions; it is only slow
        return (
            f"{untaken}; on an emulated AWS the functions run only while '{EMULATE}' runs "
            "(CONFIG: this deployment's client config): start it"
        )
    if not any(m.enabled for m in mappings):
        return f"{untaken}; the writer queue's event source mapping is disabled: 'fk deploy service' enables it"
    return None


def _waiting(settings: AwsSettings, queue: str) -> int | None:
    """Messages in ``queue``, waiting or taken and not yet done; None if it does not exist."""
    sqs = settings.client("sqs")
    try:
        with aws_errors(f"count the requests waiting in {queue}"):
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    except ProviderException as err:
        if queue_missing(err):
            return None
        raise
    return sum(int(attributes.get(name, 0)) for name in names)
