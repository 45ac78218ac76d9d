"""The meter's labelled counts (a read's requests under concurrent load) and the batch counts."""

from __future__ import annotations

import threading

from faaskeeper.metering import BATCHES, READS, Meter, batch_sizes, count_batch, difference, metered_as
from faaskeeper.stats import counted_read


def test_requests_inside_a_label_are_counted_under_it_too() -> None:
    meter = Meter()
    meter.add("s3", "PutObject")
    with metered_as(READS):
        meter.add("s3", "GetObject", 2)
    meter.add("s3", "GetObject")

    assert meter.snapshot() == {("s3", "PutObject"): 1, ("s3", "GetObject"): 3}
    assert meter.snapshot(READS) == {("s3", "GetObject"): 2}
    assert meter.snapshot("other") == {}


def test_a_label_belongs_to_the_thread_that_set_it() -> None:
    meter = Meter()
    inside, done = threading.Event(), threading.Event()

    def read() -> None:
        with counted_read():
            meter.add("dynamodb", "GetItem")
            inside.set()
            done.wait(5)

    reader = threading.Thread(target=read)
    reader.start()
    inside.wait(5)
    meter.add("sqs", "SendMessage")  # another thread, while the read is open
    done.set()
    reader.join()

    assert meter.snapshot(READS) == {("dynamodb", "GetItem"): 1}
    assert meter.snapshot()[("sqs", "SendMessage")] == 1


def test_batches_are_counted_per_function_and_size() -> None:
    before = BATCHES.snapshot()
    for messages in (1, 3, 3, 10):
        count_batch("fk-test-writer", messages)
    count_batch("fk-test-distributor", 1)

    assert batch_sizes(difference(BATCHES.snapshot(), before)) == {
        "fk-test-distributor": {1: 1},
        "fk-test-writer": {1: 1, 3: 2, 10: 1},
    }
