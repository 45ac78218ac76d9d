"""A local stand-in for Lambda: runs the real handlers on SQS batches and on a schedule.

moto stores functions and event source mappings but cannot run them (that needs Docker), so
tests, and anyone running FaaSKeeper against moto, run this in their process instead. It does
what Lambda's SQS poller does:

* each :class:`QueueTrigger` is polled by its own thread (long polling, at most ``batch_size``
  messages, the queue's own visibility timeout); the messages become one event shaped exactly
  as Lambda's (:mod:`faaskeeper_aws.functions.events`) and the handler is called with it;
* with ``ReportBatchItemFailures`` the messages the handler lists in ``batchItemFailures`` are
  left in the queue and the rest deleted (an invalid response fails the whole batch); without
  it a handler that returns deletes the batch. A handler that raises fails the whole batch.
  Failed messages are simply not deleted: they show again after the visibility timeout, and
  the queue's redrive policy moves them to the dead-letter queue after ``maxReceiveCount``;
* once a trigger's queue is gone, or a function fails for a table, bucket or queue that does not
  exist (the deployment is being removed), nothing more runs and :attr:`LambdaEmulator.removed` is set;
* each :class:`ScheduledTrigger` is called on its own timer with EventBridge's scheduled event.
  EventBridge rates are whole minutes; the emulator uses the interval it is given, which for
  the heartbeat is the config's ``heartbeat-frequency`` (see :mod:`faaskeeper_aws.functions.deployed`);
* each :class:`InvokedFunction` (the watch function) runs when a function the emulator runs
  invokes it: :meth:`LambdaEmulator.invoke` is Lambda's ``Invoke`` (``RequestResponse``), given
  to every invocation through :func:`faaskeeper_aws.functions.invoke.emulated_lambda`. The payload
  is parsed as Lambda parses it into the event, and the response is Lambda's: the handler's
  return value as JSON, or ``FunctionError: Unhandled`` with the error it raised.

The function's configured environment is passed through
:func:`faaskeeper.protocol.environment.function_environment` (a per-thread context variable), never
by changing ``os.environ``, so functions of several deployments run side by side. Invocations
and their billed milliseconds are counted in :data:`faaskeeper_aws.cost.metering.METER` as
``("lambda", "Invoke")`` and ``("lambda", "Invoke.ms")``, and per function as
``("lambda:<name>", ...)``; the messages of each batch in :data:`faaskeeper.metering.BATCHES`.
A function's timeout is not enforced (a thread cannot be killed).
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from faaskeeper.api.provider import FunctionHost
from faaskeeper.exceptions import ProviderException
from faaskeeper.metering import Meter, count_batch
from faaskeeper.protocol.environment import function_environment
from faaskeeper.protocol.host import ScheduledFunction
from faaskeeper_aws.channel.client_queues import queue_missing
from faaskeeper_aws.cost.metering import METER, MeteredClient
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.functions.events import Event, LambdaContext, scheduled_event, sqs_event
from faaskeeper_aws.functions.functions import HELD
from faaskeeper_aws.functions.invoke import emulated_lambda
from faaskeeper_aws.queues import QueueUrls
from faaskeeper_aws.settings import AwsSettings

log = logging.getLogger("faaskeeper.aws.lambda")

#: A Lambda handler: ``handler(event, context)``.
Handler = Callable[[Event, Any], Any]


@dataclass(frozen=True)
class QueueTrigger:
    """An SQS event source mapping: ``queue`` (a name) feeds the function ``function``."""

    function: str
    queue: str
    handler: Handler
    environment: Mapping[str, str] = field(default_factory=dict)
    batch_size: int = 10
    report_failures: bool = True
    timeout: float = 30.0


@dataclass(frozen=True)
class InvokedFunction:
    """A function other functions invoke directly (no trigger of its own)."""

    function: str
    handler: Handler
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 30.0


@dataclass(frozen=True)
class ScheduledTrigger:
    """A schedule (EventBridge rule ``rule_arn``) invoking ``function`` every ``interval`` seconds."""

    function: str
    handler: Handler
    interval: float
    environment: Mapping[str, str] = field(default_factory=dict)
    rule_arn: str = ""
    timeout: float = 60.0


class LambdaEmulator(FunctionHost):
    def __init__(
        self,
        settings: AwsSettings,
        queues: Sequence[QueueTrigger],
        schedules: Sequence[ScheduledTrigger] = (),
        *,
        invoked: Sequence[InvokedFunction] = (),
        poll_seconds: int = 1,
        meter: Meter = METER,
        on_start: Callable[[], None] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        """``poll_seconds``: the long poll of each receive; ``meter`` counts the invocations and the
        pollers' own SQS requests; ``on_start`` is called before the pollers start and ``on_stop``
        once they stopped (e.g. to take event source mappings over and hand them back)."""
        self.settings = settings
        self.queues = list(queues)
        self.schedules = list(schedules)
        self.invoked = list(invoked)
        self._sqs = MeteredClient(settings.client("sqs"), "sqs", meter)
        self._urls = QueueUrls(self._sqs)
        self._arns: dict[str, str] = {}
        self._poll_seconds = poll_seconds
        self._meter = meter
        self._on_start = on_start
        self._on_stop = on_stop
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        #: Pollers of earlier starts, perhaps still in a long poll.
        self._polling: list[threading.Thread] = []
        self._invoking = 0
        self._idle = threading.Condition()
        self._timers = [self._timer(s) for s in self.schedules]
        self._started = False
        #: Invocations whose handler raised (for tests).
        self.errors: list[tuple[str, BaseException]] = []
        #: Set once a trigger's queue is found gone: the deployment was removed, and nothing more runs.
        self.removed = threading.Event()

    def _timer(self, trigger: ScheduledTrigger) -> ScheduledFunction:
        def run() -> None:
            self.invoke_scheduled(trigger)

        return ScheduledFunction(trigger.interval, run, f"faaskeeper-lambda-{trigger.function}")

    # -- FunctionHost ---------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        if self._on_start is not None:
            self._on_start()
        self._started = True
        # Pollers of an earlier start may still be in a long poll: they keep the event they got.
        self._stopping = threading.Event()
        for trigger in self.queues:
            thread = threading.Thread(
                target=self._poll_forever,
                args=(trigger, self._stopping),
                name=f"faaskeeper-lambda-{trigger.function}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        for timer in self._timers:
            timer.start()

    def wake(self) -> None:
        """Nothing to do: the pollers long-poll, so a sent message is received at once."""

    def stop(self) -> None:
        """Stop polling and wait for invocations in progress (not for long polls: a batch they
        return is made visible again in its queue, unprocessed)."""
        if not self._started:
            return
        self._started = False
        self._stopping.set()
        for timer in self._timers:
            timer.stop()
        with self._idle:
            self._idle.wait_for(lambda: self._invoking == 0, timeout=max([35.0, *(q.timeout for q in self.queues)]))
        self._polling.extend(self._threads)
        self._threads = []
        if self._on_stop is not None:
            self._on_stop()

    def settle(self) -> None:
        """Wait until the pollers of earlier starts have returned from their long polls, so that
        no message sent from now on is received (and its receive counted) by one of them."""
        for thread in self._polling:
            thread.join(self._poll_seconds + 5)
        self._polling = [t for t in self._polling if t.is_alive()]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no invocation runs and every trigger's queue is empty, but for messages a
        function asked to have delivered only later (:data:`faaskeeper_aws.functions.functions.HELD`);
        False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._idle:
                self._idle.wait_for(lambda: self._invoking == 0, timeout=max(0.0, deadline - time.monotonic()))
            if all(self._depth(trigger.queue) == 0 for trigger in self.queues):
                with self._idle:
                    if self._invoking == 0:
                        return True
            time.sleep(0.01)
        return False

    def _depth(self, queue: str) -> int:
        with aws_errors(f"count the messages of {queue}"):
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self._urls(queue),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        return sum(int(v) for v in attributes.values()) - HELD.count(queue, time.time())

    def __enter__(self) -> LambdaEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- polling --------------------------------------------------------------------------

    def _poll_forever(self, trigger: QueueTrigger, stopping: threading.Event) -> None:
        failures = 0
        while not stopping.is_set() and not self.removed.is_set():
            try:
                self.poll(trigger, wait=self._poll_seconds, stopping=stopping)
                failures = 0
            except ProviderException as err:
                if self.deployment_removed():
                    return
                failures += 1
                log.warning("polling %s for %s failed: %s", trigger.queue, trigger.function, err)
                stopping.wait(min(2.0, 0.05 * 2**failures))

    def deployment_removed(self) -> bool:
        """Whether a trigger's queue is gone (asked only after something failed); sets :attr:`removed`."""
        if not self.removed.is_set():
            for trigger in self.queues:
                try:
                    with aws_errors(f"find {trigger.queue}"):
                        self._sqs.get_queue_url(QueueName=trigger.queue)
                except ProviderException as err:
                    if not queue_missing(err):
                        return False
                    log.info("%s is gone: the deployment was removed; its functions stop", trigger.queue)
                    self.removed.set()
                    break
        return self.removed.is_set()

    def run_once(self) -> bool:
        """Give every trigger one batch without waiting; True if any message was handled."""
        return any([self.poll(trigger, wait=0) for trigger in self.queues])

    def poll(self, trigger: QueueTrigger, *, wait: int = 0, stopping: threading.Event | None = None) -> bool:
        """One receive from ``trigger``'s queue and, if it returned messages, one invocation
        (unless ``stopping`` was set meanwhile)."""
        url = self._urls(trigger.queue)
        with aws_errors(f"receive from {trigger.queue}"):
            messages: list[dict[str, Any]] = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=max(1, min(10, trigger.batch_size)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        if not messages:
            return False
        with self._idle:
            stopped = stopping is not None and stopping.is_set()
            if not stopped:
                self._invoking += 1
        if stopped:
            self._release(trigger.queue, url, messages)
            return False
        try:
            self._run(trigger, url, messages)
        finally:
            with self._idle:
                self._invoking -= 1
                self._idle.notify_all()
        return True

    def _release(self, queue: str, url: str, messages: list[dict[str, Any]]) -> None:
        """Make a batch received while stopping visible again at once, as Lambda's poller does
        when it shuts down, rather than after the queue's visibility timeout."""
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(messages)
        ]
        with aws_errors(f"return unprocessed messages to {queue}"):
            self._sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)

    def _run(self, trigger: QueueTrigger, url: str, messages: list[dict[str, Any]]) -> None:
        count_batch(trigger.function, len(messages))
        event = sqs_event(messages, self._arn(trigger.queue, url), self.settings.region)
        outcome = self._invoke(trigger.function, trigger.handler, event, trigger.environment, trigger.timeout)
        done = self._succeeded(trigger, messages, outcome)
        if done:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            with aws_errors(f"delete processed messages from {trigger.queue}"):
                self._sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def _arn(self, queue: str, url: str) -> str:
        arn = self._arns.get(queue)
        if arn is None:
            with aws_errors(f"read the ARN of {queue}"):
                attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            arn = self._arns[queue] = str(attributes["Attributes"]["QueueArn"])
        return arn

    @staticmethod
    def _succeeded(
        trigger: QueueTrigger, messages: list[dict[str, Any]], outcome: tuple[bool, Any]
    ) -> list[dict[str, Any]]:
        """The messages Lambda would delete after this invocation."""
        returned, response = outcome
        if not returned:
            return []
        if not trigger.report_failures:
            return messages
        if response is None:
            return messages
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if failures is None:
            return messages if isinstance(response, dict) else []
        ids = {m["MessageId"] for m in messages}
        try:
            failed = {str(item["itemIdentifier"]) for item in failures}
        except (TypeError, KeyError):
            log.error("%s returned an invalid batchItemFailures; the whole batch fails", trigger.function)
            return []
        if not failed <= ids or "" in failed:
            log.error("%s reported failures of messages not in its batch; the whole batch fails", trigger.function)
            return []
        return [m for m in messages if m["MessageId"] not in failed]

    # -- invocations ----------------------------------------------------------------------

    def invoke_scheduled(self, trigger: ScheduledTrigger) -> Any:
        if self.removed.is_set():
            return None
        event = scheduled_event(trigger.rule_arn, self.settings.region)
        returned, response = self._invoke(
            trigger.function, trigger.handler, event, trigger.environment, trigger.timeout
        )
        return response if returned else None

    def invoke(self, **params: Any) -> dict[str, Any]:
        """Lambda's ``Invoke`` of one of the :class:`InvokedFunction`s, as boto3 returns it."""
        name = str(params.get("FunctionName", ""))
        target = next((f for f in self.invoked if f.function in (name, *_arn_names(name))), None)
        if target is None:
            raise _client_error("ResourceNotFoundException", f"Function not found: {name}")
        if params.get("InvocationType", "RequestResponse") != "RequestResponse":
            raise _client_error("InvalidParameterValueException", "the emulator runs RequestResponse invocations only")
        try:
            event = json.loads(params.get("Payload") or b"{}")
        except ValueError as err:
            message = f"Could not parse request body into json: {err}"
            raise _client_error("InvalidRequestContentException", message) from err
        returned, result = self._invoke(target.function, target.handler, event, target.environment, target.timeout)
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        if returned:
            payload = json.dumps(result).encode()
        else:
            response["FunctionError"] = "Unhandled"
            error = {"errorMessage": str(result), "errorType": type(result).__name__, "stackTrace": []}
            payload = json.dumps(error).encode()
        response["Payload"] = StreamingBody(io.BytesIO(payload), len(payload))
        return response

    def _invoke(
        self, function: str, handler: Handler, event: Event, environment: Mapping[str, str], timeout: float
    ) -> tuple[bool, Any]:
        """Call ``handler`` as Lambda would; (whether it returned, what it returned or raised).
        Invocations the handler makes of other functions come back to :meth:`invoke`."""
        context = LambdaContext(function, timeout=timeout)
        started = time.perf_counter()
        try:
            with function_environment(environment), emulated_lambda(self.invoke):
                return True, handler(event, context)
        except Exception as err:
            self.errors.append((function, err))
            if _resource_missing(err) or self.deployment_removed():
                self.removed.set()
                log.info("function %s failed, its deployment removed: %s", function, err)
            else:
                log.exception("function %s failed", function)
            return False, err
        finally:
            billed = max(1, math.ceil((time.perf_counter() - started) * 1000))
            for service in ("lambda", f"lambda:{function}"):
                self._meter.add(service, "Invoke")
                self._meter.add(service, "Invoke.ms", billed)


#: What AWS answers about a table, bucket or queue that does not exist.
_MISSING = frozenset(
    {"ResourceNotFoundException", "NoSuchBucket", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
)


def _resource_missing(err: BaseException) -> bool:
    """Whether ``err`` came from AWS saying that a resource of the deployment does not exist: a
    function fails so only while its deployment is being removed."""
    cause: BaseException | None = err
    while cause is not None:
        missing = isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in _MISSING
        if missing and getattr(cause, "operation_name", "") != "Invoke":  # a function, not the deployment's storage
            return True
        cause = cause.__cause__
    return False


def _arn_names(name: str) -> tuple[str, ...]:
    """The function name an ARN (``arn:aws:lambda:<region>:<account>:function:<name>``) names."""
    head, _, function = name.rpartition(":function:")
    return (function,) if head.startswith("arn:") and function else ()


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Invoke")
