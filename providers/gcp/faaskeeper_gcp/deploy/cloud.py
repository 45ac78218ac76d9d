"""The parts of ``fk deploy`` / ``fk remove`` / ``fk status`` that only a real project has: the
Cloud Functions, the push subscriptions' OIDC identity, and the heartbeat's Cloud Scheduler job.

A config without ``gcp.functions-endpoint`` is deployed so: the source archive is built from the
installed packages (:mod:`faaskeeper_gcp.deploy.package`) and the functions deployed from it
(:mod:`faaskeeper_gcp.deploy.cloud_functions`), the push subscriptions deliver to the functions' URLs
with OIDC tokens of ``gcp.service-account``, and a scheduler job publishes the heartbeat's tick
(:mod:`faaskeeper_gcp.deploy.scheduler`). IAM is left as it is: the service account needs
``roles/datastore.user``, ``roles/pubsub.publisher`` and ``roles/run.invoker`` on the project
(the last for Pub/Sub's pushes, and for the distributor's calls of the watch function).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faaskeeper.api.provider import SILENT, Reporter, ResourceStatus
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_gcp.deploy import cloud_apis, cloud_functions, scheduler
from faaskeeper_gcp.deploy.cloud_options import DeployOptions
from faaskeeper_gcp.deploy.package import build_source_archive
from faaskeeper_gcp.names import PUSHED_FUNCTIONS
from faaskeeper_gcp.settings import GcpSettings

#: Cloud Functions names: lowercase letters, digits and hyphens.
_LOWERCASE = re.compile(r"^[a-z0-9-]+$")
PushConfig = dict[str, object]


@dataclass(frozen=True)
class Cloud:
    """The APIs and the settings a real project's deployment is made with."""

    apis: cloud_apis.CloudApis
    options: DeployOptions


def connect(config: Config, settings: GcpSettings, *, deploying: bool = True) -> Cloud:
    """The APIs, once the config has what a deploy needs (checked before anything is changed)."""
    options = DeployOptions.from_config(config)
    if deploying and options.service_account is None:
        raise ConfigurationException(
            "Config key 'gcp.service-account' is required to deploy the functions to a Google Cloud project "
            '(e.g. "faaskeeper@my-project.iam.gserviceaccount.com", with roles/datastore.user, '
            "roles/pubsub.publisher and roles/run.invoker): the functions run as it and Pub/Sub pushes to them "
            "with its tokens; or give 'gcp.functions-endpoint' to serve them with functions-framework"
        )
    if deploying and not _LOWERCASE.match(settings.names.deployment):
        raise ConfigurationException(
            "Config key 'deployment-name' must be lowercase letters, digits and '-' to deploy Cloud Functions "
            f"(it names them), got {settings.names.deployment!r}"
        )
    return Cloud(cloud_apis.connect(), options)


def push_config(cloud: Cloud, url: str) -> PushConfig:
    """Pushes to ``url`` signed with an OIDC token of the service account, for that audience."""
    return {
        "push_endpoint": url,
        "oidc_token": {"service_account_email": cloud.options.service_account, "audience": url},
    }


def deploy_functions(
    cloud: Cloud, config: Config, settings: GcpSettings, *, reporter: Reporter = SILENT
) -> dict[str, PushConfig]:
    """Deploy the functions of ``config`` (the client config, as they read it); the push config of
    each function fed by a push subscription."""
    reporter.step("building the functions' source archive")
    archive = build_source_archive()
    urls = cloud_functions.deploy_functions(cloud.apis, config, settings, cloud.options, archive, reporter=reporter)
    return {function: push_config(cloud, urls[function]) for function in PUSHED_FUNCTIONS}


def deploy_schedule(cloud: Cloud, settings: GcpSettings, *, reporter: Reporter = SILENT) -> None:
    reporter.step(f"scheduling the heartbeat: {cloud.options.schedule} (Cloud Scheduler, UTC)")
    scheduler.ensure_job(cloud.apis, settings, cloud.options)


def remove(cloud: Cloud, settings: GcpSettings, *, reporter: Reporter = SILENT) -> None:
    """Delete the scheduler job and the functions (none is an error)."""
    reporter.step("deleting the heartbeat's Cloud Scheduler job")
    scheduler.remove_job(cloud.apis, settings, cloud.options)
    reporter.step(f"deleting the Cloud Functions of {settings.names.deployment!r}")
    cloud_functions.remove_functions(cloud.apis, settings, cloud.options)


def resources(cloud: Cloud, settings: GcpSettings) -> list[ResourceStatus]:
    return [
        *cloud_functions.function_resources(cloud.apis, settings, cloud.options),
        scheduler.job_resource(cloud.apis, settings, cloud.options),
    ]
