"""The deployment's four Cloud Functions (2nd gen) in a real project, through the Cloud Functions v2 API.

Each of ``writer``, ``distributor``, ``heartbeat`` and ``watch`` is a function named
``faaskeeper-<deployment>-<function>`` built from the source archive
(:mod:`faaskeeper_gcp.deploy.package`) with its entry point of :mod:`faaskeeper_gcp.main`, the client
config in ``FK_CONFIG``, and the configured service account as its identity. The functions have
no trigger of their own: the deployment's push subscriptions (message ordering, dead-letter
topics) deliver to the URLs of the first three, authenticated with OIDC tokens of the same
service account, and their entry points take the pushes as CloudEvents, as functions-framework
converts them. The watch function is deployed first: the distributor gets its URL in
``FK_WATCH_URL`` and calls it over HTTP with an OIDC token of its own identity.

Every function carries a ``faaskeeper-spec`` label, a digest of its archive and settings: a
function whose label matches is left alone, so deploying unchanged code again changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from google.api_core import exceptions as google_errors

from faaskeeper.api.provider import SILENT, Reporter, ResourceStatus
from faaskeeper.config import Config
from faaskeeper_gcp.deploy.cloud_apis import OPERATION_TIMEOUT, CloudApis
from faaskeeper_gcp.deploy.cloud_options import DeployOptions
from faaskeeper_gcp.deploy.package import SourceArchive
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.names import ENV_CONFIG, ENV_WATCH_URL, FUNCTIONS
from faaskeeper_gcp.settings import GcpSettings

SPEC_LABEL = "faaskeeper-spec"
DEPLOYMENT_LABEL = "faaskeeper-deployment"


def location(settings: GcpSettings, options: DeployOptions) -> str:
    return f"projects/{settings.project}/locations/{options.region}"


def function_path(settings: GcpSettings, options: DeployOptions, function: str) -> str:
    return f"{location(settings, options)}/functions/{settings.names.function_name(function)}"


def function_spec(
    config: Config, settings: GcpSettings, options: DeployOptions, function: str, watch_url: str | None = None
) -> dict[str, Any]:
    """The function as the API takes it, without its source (which an upload provides); the
    distributor's names ``watch_url``, where it calls the watch function."""
    environment = {ENV_CONFIG: json.dumps(config.serialize(), sort_keys=True)}
    if function == "distributor" and watch_url:
        environment[ENV_WATCH_URL] = watch_url
    return {
        "name": function_path(settings, options, function),
        "description": f"FaaSKeeper {function} of deployment {settings.names.deployment}",
        "environment": "GEN_2",
        "build_config": {"runtime": options.runtime, "entry_point": function},
        "service_config": {
            "available_memory": f"{options.memory}Mi",
            "timeout_seconds": options.timeout,
            "environment_variables": environment,
            "service_account_email": options.service_account,
            # Reachable by Pub/Sub's pushes; only callers with the invoker role get through.
            "ingress_settings": "ALLOW_ALL",
            "all_traffic_on_latest_revision": True,
            "max_instance_request_concurrency": 1,
        },
    }


def spec_digest(spec: Mapping[str, Any], archive: SourceArchive) -> str:
    """A label value naming the function's settings and code (labels take 63 lowercase characters)."""
    text = json.dumps(spec, sort_keys=True) + archive.digest
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _existing(apis: CloudApis, name: str) -> Any | None:
    with gcp_errors(f"read function {name}"):
        try:
            return apis.functions.get_function(request={"name": name})
        except google_errors.NotFound:
            return None


def _upload(apis: CloudApis, settings: GcpSettings, options: DeployOptions, archive: SourceArchive) -> Any:
    """Upload the archive to a fresh signed URL; its storage source, for one function's build."""
    with gcp_errors("generate an upload URL for the functions' source"):
        target = apis.functions.generate_upload_url(
            request={"parent": location(settings, options), "environment": "GEN_2"}
        )
    apis.upload(target.upload_url, archive.data)
    return target.storage_source


def deploy_functions(
    apis: CloudApis,
    config: Config,
    settings: GcpSettings,
    options: DeployOptions,
    archive: SourceArchive,
    *,
    reporter: Reporter = SILENT,
) -> dict[str, str]:
    """Create or update the four functions so that they run ``archive`` with ``config``; their URLs.
    The watch function comes first: the distributor is deployed with its URL."""
    urls: dict[str, str] = {}
    for function in sorted(FUNCTIONS, key=lambda f: f != "watch"):
        spec = function_spec(config, settings, options, function, urls.get("watch"))
        digest = spec_digest(spec, archive)
        name = spec["name"]
        current = _existing(apis, name)
        labels = dict(getattr(current, "labels", None) or {})
        if current is not None and labels.get(SPEC_LABEL) == digest and current.service_config.uri:
            urls[function] = current.service_config.uri
            continue
        reporter.step(f"{'updating' if current is not None else 'creating'} Cloud Function {name.rsplit('/', 1)[1]}")
        spec["labels"] = {DEPLOYMENT_LABEL: settings.names.deployment.lower(), SPEC_LABEL: digest}
        spec["build_config"]["source"] = {"storage_source": _upload(apis, settings, options, archive)}
        with gcp_errors(f"deploy function {name}"):
            if current is None:
                operation = apis.functions.create_function(
                    request={
                        "parent": location(settings, options),
                        "function": spec,
                        "function_id": name.rsplit("/", 1)[1],
                    }
                )
            else:
                operation = apis.functions.update_function(request={"function": spec})
            deployed = operation.result(timeout=OPERATION_TIMEOUT)
        urls[function] = deployed.service_config.uri
    return urls


def remove_functions(apis: CloudApis, settings: GcpSettings, options: DeployOptions) -> None:
    """Delete the four functions; one that does not exist is no error."""
    for function in FUNCTIONS:
        name = function_path(settings, options, function)
        with gcp_errors(f"delete function {name}"), contextlib.suppress(google_errors.NotFound):
            apis.functions.delete_function(request={"name": name}).result(timeout=OPERATION_TIMEOUT)


def function_resources(apis: CloudApis, settings: GcpSettings, options: DeployOptions) -> list[ResourceStatus]:
    """Each function the deployment should have: its state and URL, or ``missing``."""
    found: list[ResourceStatus] = []
    for function in FUNCTIONS:
        name = function_path(settings, options, function)
        current = _existing(apis, name)
        if current is None:
            state = "missing"
        else:
            state_name = getattr(current.state, "name", str(current.state))
            state = f"{state_name}, {current.service_config.uri}" if current.service_config.uri else state_name
        found.append(ResourceStatus(kind="Cloud Function", name=name.rsplit("/", 1)[1], state=state))
    return found
