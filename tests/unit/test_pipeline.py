"""The client's per-session pipeline when sending a write is interrupted or fails unexpectedly:
that write completes with an error saying its outcome is unknown, the interruption reaches the
caller, and the operations issued after it are not held up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faaskeeper.client.futures import CallbackRunner, Future
from faaskeeper.client.pipeline import Pipeline
from faaskeeper.exceptions import ConnectionLossException, FaaSKeeperException, ProviderException, from_code
from faaskeeper.protocol.messages import Reply


@pytest.fixture
def runner() -> Iterator[CallbackRunner]:
    callbacks = CallbackRunner()
    yield callbacks
    callbacks.stop()


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    ordered = Pipeline()
    yield ordered
    ordered.stop()


def _ok(reply: Reply) -> int:
    """The client's conversion: a failed reply raises its exception."""
    if not reply.ok:
        raise from_code(reply.error or "", reply.message, reply.error_path, reply.version)
    return reply.seq


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_a_write_whose_send_is_interrupted_fails_and_the_next_ones_complete(
    pipeline: Pipeline, runner: CallbackRunner, failure: type[BaseException]
) -> None:
    first, second = Future[int](runner), Future[int](runner)

    def send() -> None:
        raise failure("mid-send")

    with pytest.raises(failure):
        pipeline.add_write(1, first, _ok, send)
    pipeline.add_write(2, second, _ok, lambda: None)
    pipeline.on_reply(Reply.success(2))
    assert second.get(5) == 2, "a later write is not held up behind the interrupted one"
    with pytest.raises(ConnectionLossException, match="may or may not take effect"):
        first.get(5)


def test_a_send_failing_with_a_faaskeeper_error_completes_with_it(pipeline: Pipeline, runner: CallbackRunner) -> None:
    future = Future[int](runner)

    def send() -> None:
        raise ProviderException("queue unreachable")

    pipeline.add_write(1, future, _ok, send)
    with pytest.raises(FaaSKeeperException, match="queue unreachable"):
        future.get(5)
