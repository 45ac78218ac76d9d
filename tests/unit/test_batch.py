"""How a batch of queue messages is reported: done, to deliver again (after a delay a message
asked for), or dead-lettered; a failure holds up the rest of its group."""

from __future__ import annotations

from faaskeeper.api.queue import QueueMessage
from faaskeeper.protocol.batch import RetryLater, run_batch
from faaskeeper.protocol.codec import MalformedMessage


def message(message_id: str, group: str) -> QueueMessage:
    return QueueMessage(message_id.encode(), int(message_id[1:]), group, message_id, 1)


def test_a_message_asking_to_be_delivered_later_holds_up_its_group_only() -> None:
    batch = [message("m1", "a"), message("m2", "a"), message("m3", "b"), message("m4", "c")]
    handled: list[str] = []

    def handle(m: QueueMessage) -> None:
        handled.append(m.message_id)
        if m.message_id == "m1":
            raise RetryLater("not yet", 2.5)
        if m.message_id == "m4":
            raise MalformedMessage("forged")

    result = run_batch(batch, handle)
    assert handled == ["m1", "m3", "m4"], "m2 waits behind m1 in its group"
    assert [m.message_id for m in result.failed] == ["m1", "m2"]
    assert result.delays == {"m1": 2.5}, "only the message that asked has a delay"
    assert [m.message_id for m in result.succeeded] == ["m3"]
    assert [(m.message_id, reason) for m, reason in result.dead] == [("m4", "forged")]


def test_a_negative_delay_is_none() -> None:
    assert RetryLater("due already", -1.0).delay == 0.0
