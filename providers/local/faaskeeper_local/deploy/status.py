"""``fk status`` on the local provider: the deployment file, its queues, live sessions and nodes."""

from __future__ import annotations

import time

from faaskeeper.api.provider import DeploymentStatus, QueueStatus, ResourceStatus
from faaskeeper.config import Config
from faaskeeper_local.deployment import DISTRIBUTOR_QUEUE, WRITER_QUEUE, stored_max_data_size
from faaskeeper_local.settings import LocalSettings
from faaskeeper_local.storage.database import Database
from faaskeeper_local.storage.system import LocalSystemStorage


def service_status(config: Config, settings: LocalSettings) -> DeploymentStatus:
    """What the deployment file holds now; ``deployed`` is False (and nothing else known) without it.
    A damaged file raises DeploymentCorruptException."""
    status: DeploymentStatus = {"provider": "local", "deployed": False, "deployment": config.deployment_name}
    if not settings.database.exists():
        status["details"] = {"file": str(settings.database)}
        return status
    db = Database(settings.database)
    try:
        db.check_integrity()
        system = LocalSystemStorage(db)
        status["deployed"] = True
        status["resources"] = _files(settings)
        status["sessions"] = sum(1 for session in system.list_sessions() if session.status == "active")
        status["nodes"] = system.count_nodes()
        status["watches"] = system.count_watches()
        status["queues"] = [_queue(db, name) for name in (WRITER_QUEUE, DISTRIBUTOR_QUEUE)]
        status["details"] = {
            "deployment id": db.deployment_id,
            "max-data-size": f"{stored_max_data_size(db)} bytes",
            "durability": db.durability,
            "functions": "run inside each client process (no daemon)",
        }
    finally:
        db.close()
    return status


def _files(settings: LocalSettings) -> list[ResourceStatus]:
    files = [settings.database, settings.database.with_name(settings.database.name + "-wal")]
    return [
        {"kind": "SQLite file", "name": str(path), "state": f"present, {path.stat().st_size / 1024:.0f} KiB"}
        for path in files
        if path.exists()
    ]


def _queue(db: Database, name: str) -> QueueStatus:
    now = time.time()
    # A message taken by a function stays invisible until it is acked or its visibility timeout ends.
    [(waiting, in_flight)] = db.query(
        "SELECT COALESCE(SUM(visible_at <= ?), 0), COALESCE(SUM(visible_at > ?), 0) FROM queue_messages "
        "WHERE queue = ?",
        (now, now, name),
    )
    [(dead,)] = db.query("SELECT COUNT(*) FROM dead_letters WHERE queue = ?", (name,))
    return {"name": name, "waiting": int(waiting), "in_flight": int(in_flight), "dead_letters": int(dead)}
