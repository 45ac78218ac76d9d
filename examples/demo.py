"""A short scripted session: writes, reads, versions, sequential and ephemeral nodes, errors.

Run: python examples/demo.py CONFIG (a client config, as ``fk deploy`` writes it).
"""

from __future__ import annotations

import sys
import threading

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper.watch import WatchedEvent


def show(label: str, value: object) -> None:
    print(f"  {label:<44} {value}")


def main(config_path: str) -> None:
    config = Config.from_file(config_path)
    alice = FaaSKeeperClient(config)
    bob = FaaSKeeperClient(config)
    print(
        f"alice session {alice.start()}, bob session {bob.start()} on {config.cloud_provider}:{config.deployment_name}"
    )

    print("writes and reads")
    node = alice.create("/app", b"v1")
    show("alice create /app", f"{node.path} version={node.stat.version} czxid={node.stat.czxid}")
    show("bob get_data /app", bob.get_data("/app").data)
    node = bob.set_data("/app", b"v2", version=0)
    show("bob set_data /app (version 0)", f"version={node.stat.version} mzxid={node.stat.mzxid}")
    show("alice get_data /app", alice.get_data("/app").data)

    print("watches")
    seen = threading.Event()

    def on_change(event: WatchedEvent) -> None:
        show("bob's watch on /app fired", f"{event.type} {event.path} at transaction {event.timestamp}")
        seen.set()

    bob.get_data("/app", watch=on_change)
    alice.set_data("/app", b"v3")
    seen.wait(5)
    show("bob get_data /app", bob.get_data("/app").data)

    print("sequential nodes")
    alice.create("/app/queue", b"")
    for who in (alice, bob, alice):
        show("create /app/queue/job- sequential", who.create("/app/queue/job-", b"", sequential=True).path)
    show("get_children /app/queue", [n.path for n in bob.get_children("/app/queue")])

    print("ephemeral nodes")
    alice.create("/app/leader", alice.session_id.encode() if alice.session_id else b"", ephemeral=True)
    gone = threading.Event()
    stat = bob.exists("/app/leader", watch=lambda event: gone.set())
    show("bob exists /app/leader (with a watch)", f"owner={stat.stat.ephemeral_owner if stat else None}")

    print("errors")
    attempts = [
        ("set_data /app with stale version 0", lambda: alice.set_data("/app", b"v4", version=0)),
        ("create /app again", lambda: bob.create("/app", b"")),
        ("create /missing/child", lambda: bob.create("/missing/child", b"")),
        ("delete /app (has children)", lambda: bob.delete("/app")),
        ("create /app/leader/child (ephemeral parent)", lambda: bob.create("/app/leader/child", b"")),
        ("create app (no leading /)", lambda: bob.create("app", b"")),
        ("create /app/ (trailing /)", lambda: bob.create("/app/", b"")),
        ("create /big with 2 MiB", lambda: bob.create("/big", b"x" * (2 * 1024 * 1024))),
        ("create /text with a str value", lambda: bob.create("/text", "not bytes")),  # type: ignore[arg-type]
    ]
    for label, attempt in attempts:
        try:
            attempt()
            show(label, "succeeded?!")
        except FaaSKeeperException as err:
            show(label, f"{type(err).__name__}: {err}")

    print("sessions")
    alice.stop()
    show("alice stopped; bob's watch on /app/leader fired", gone.wait(5))
    show("bob exists /app/leader", bob.exists("/app/leader"))
    show("bob get_data /app", bob.get_data("/app").data)
    bob.stop()


if __name__ == "__main__":
    main(sys.argv[1])
