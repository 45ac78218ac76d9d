"""The heartbeat's schedule in a real project: a Cloud Scheduler job publishing a tick to the
heartbeat's topic, which Pub/Sub pushes to the heartbeat function.

The job runs every ``heartbeat-frequency`` seconds rounded up to whole minutes (Cloud Scheduler's
finest step is one minute; see :attr:`faaskeeper_gcp.deploy.cloud_options.DeployOptions.schedule`), in UTC.
Against the emulators :class:`~faaskeeper_gcp.functions.host.FunctionServer` publishes the same
tick itself.
"""

from __future__ import annotations

import contextlib
from typing import Any

from google.api_core import exceptions as google_errors

from faaskeeper.api.provider import ResourceStatus
from faaskeeper_gcp.deploy.cloud_apis import CloudApis
from faaskeeper_gcp.deploy.cloud_options import DeployOptions
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.settings import GcpSettings

#: What the job publishes; the heartbeat function reads nothing of it.
TICK = b"tick"
TIME_ZONE = "Etc/UTC"


def job_path(settings: GcpSettings, options: DeployOptions) -> str:
    return f"projects/{settings.project}/locations/{options.region}/jobs/{settings.names.prefix}-heartbeat"


def job_spec(settings: GcpSettings, options: DeployOptions) -> dict[str, Any]:
    return {
        "name": job_path(settings, options),
        "description": f"FaaSKeeper heartbeat of deployment {settings.names.deployment}",
        "schedule": options.schedule,
        "time_zone": TIME_ZONE,
        "pubsub_target": {
            "topic_name": f"projects/{settings.project}/topics/{settings.names.topic('heartbeat')}",
            "data": TICK,
        },
    }


def _existing(apis: CloudApis, name: str) -> Any | None:
    with gcp_errors(f"read scheduler job {name}"):
        try:
            return apis.scheduler.get_job(request={"name": name})
        except google_errors.NotFound:
            return None


def _same(current: Any, spec: dict[str, Any]) -> bool:
    target = current.pubsub_target
    return bool(
        current.schedule == spec["schedule"]
        and current.time_zone == spec["time_zone"]
        and target.topic_name == spec["pubsub_target"]["topic_name"]
        and target.data == spec["pubsub_target"]["data"]
    )


def ensure_job(apis: CloudApis, settings: GcpSettings, options: DeployOptions) -> bool:
    """Create the job, or update it if its schedule or target changed; False if it was already so."""
    spec = job_spec(settings, options)
    current = _existing(apis, spec["name"])
    if current is not None and _same(current, spec):
        return False
    with gcp_errors(f"deploy scheduler job {spec['name']}"):
        if current is None:
            parent = spec["name"].rsplit("/jobs/", 1)[0]
            apis.scheduler.create_job(request={"parent": parent, "job": spec})
        else:
            apis.scheduler.update_job(request={"job": spec})
    return True


def remove_job(apis: CloudApis, settings: GcpSettings, options: DeployOptions) -> None:
    name = job_path(settings, options)
    with gcp_errors(f"delete scheduler job {name}"), contextlib.suppress(google_errors.NotFound):
        apis.scheduler.delete_job(request={"name": name})


def job_resource(apis: CloudApis, settings: GcpSettings, options: DeployOptions) -> ResourceStatus:
    name = job_path(settings, options)
    current = _existing(apis, name)
    if current is None:
        state = "missing"
    else:
        state = f"{getattr(current.state, 'name', current.state)}, {current.schedule} {current.time_zone}"
    return ResourceStatus(kind="Cloud Scheduler job", name=name.rsplit("/", 1)[1], state=state)
