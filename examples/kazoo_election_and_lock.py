"""A leader election and a distributed lock with kazoo's recipes, on ZooKeeper or on FaaSKeeper.

On ZooKeeper:  COORDINATOR=127.0.0.1:2181 python kazoo_election_and_lock.py worker-1
               (with ``from kazoo.client import KazooClient``, the one line that differs)
On FaaSKeeper: COORDINATOR=fk.json python kazoo_election_and_lock.py worker-1
"""

import os
import sys

from faaskeeper.kazoo import KazooClient

name = sys.argv[1]
zk = KazooClient(os.environ["COORDINATOR"])  # ZooKeeper's hosts, or FaaSKeeper's client config
zk.start()


def lead() -> None:
    """Runs while this process is the leader; the election's next contender leads once it returns."""
    print(f"{name} leads", flush=True)
    with zk.Lock("/jobs/lock", name):  # the lock also keeps out anyone who does not take part in the election
        zk.ensure_path("/jobs/done")
        done = zk.create("/jobs/done/run-", name.encode(), sequence=True)
        print(f"{name} ran {done} under the lock", flush=True)


zk.Election("/jobs/election", name).run(lead)
zk.stop()
