"""``fk deploy``, ``fk remove`` and ``fk status`` on AWS: a CloudFormation stack driven with boto3.

Deploying (idempotent): build the functions' package from the installed code, upload it to the
code bucket (created first: the stack's functions reference it), create or update the stack and
wait for it, enable event source mappings an emulator left disabled, record a new deployment's
transaction id origin (:mod:`faaskeeper_aws.deploy.txn_origin`), create the root node in system and user
storage, and return the client config, which names the data bucket as the upstream's did
(``"aws": {"data-bucket": ...}``).
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

from faaskeeper.api.provider import SILENT
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException, ProviderException
from faaskeeper_aws.deploy import buckets, logical
from faaskeeper_aws.deploy.logical import FUNCTIONS
from faaskeeper_aws.deploy.mappings import repair_mappings
from faaskeeper_aws.deploy.package import KEY_PREFIX, Package, build_package
from faaskeeper_aws.deploy.remove import remove_deployment
from faaskeeper_aws.deploy.stack import DEAD_STATES, POLL_SECONDS, Progress, Stack
from faaskeeper_aws.deploy.status import service_status
from faaskeeper_aws.deploy.template import USER_STORAGE_OUTPUT, build_template
from faaskeeper_aws.deploy.tunables import DeployOptions
from faaskeeper_aws.deploy.txn_origin import record_origin
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings

__all__ = ["client_config", "deploy_functions", "deploy_service", "remove_service", "service_status"]


def client_config(config: Config, settings: AwsSettings) -> Config:
    """The config clients and functions load: the input plus the region, the data bucket and the
    endpoint it was deployed to (boto3's ``AWS_ENDPOINT_URL`` when the config names none), so that
    a deployment on an emulated AWS is found without the variable."""
    out = config.serialize()
    out["deployment-region"] = settings.region
    section = {**config.provider_section, "data-bucket": settings.data_bucket}
    endpoint = settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        section["endpoint-url"] = endpoint
    out["aws"] = section
    return Config.deserialize(out)


def deploy_service(
    config: Config, settings: AwsSettings, *, clean: bool = False, progress: Progress = SILENT.step
) -> Config:
    options = DeployOptions.from_config(config)
    if clean:
        remove_service(config, settings, progress=progress)
    deployed = client_config(config, settings)
    package = upload_package(settings, progress)
    template = build_template(deployed, settings, package.key, options)
    stack = Stack(settings, progress)
    current = stack.describe()
    if current is not None and current["StackStatus"] in DEAD_STATES:
        progress(f"stack {stack.name} is {current['StackStatus']}: removing it before deploying again")
        remove_deployment(settings, progress)
        upload_package(settings, progress)
        current = None
    if current is None:
        stack.create(template)
    else:
        _check_updatable(stack, current, settings)
        stack.update(template)
        # The stack declares its event source mappings enabled, but an update that changes nothing
        # else leaves a mapping as it is: one an emulator left disabled is enabled here.
        repair_mappings(settings, progress)
    removed = buckets.delete_keys_except(settings.client("s3"), settings.names.code_bucket, KEY_PREFIX, package.key)
    if removed:
        progress(f"deleted {removed} old function packages")
    _ensure_root(deployed, settings, progress)
    return deployed


def deploy_functions(config: Config, settings: AwsSettings, *, progress: Progress = SILENT.step) -> None:
    """Upload the current code and point the deployed functions at it, leaving the rest as is.

    The stack still names the previous package until the next ``fk deploy service``, which
    then changes nothing in the functions (the key names the content).
    """
    stack = Stack(settings, progress)
    if stack.describe() is None:
        raise ProviderException(
            f"Deployment {settings.names.deployment!r} does not exist: run 'fk deploy service' first"
        )
    deployed = {str(r.get("LogicalResourceId")) for r in stack.resources()}
    missing = [settings.names.function(role) for role in FUNCTIONS if logical.function(role) not in deployed]
    if missing:
        raise ProviderException(
            f"Deployment {settings.names.deployment!r} has no function {', '.join(missing)} (deployed by an older "
            "version): run 'fk deploy service' to add it"
        )
    package = upload_package(settings, progress)
    lambda_ = settings.client("lambda")
    for role in FUNCTIONS:
        name = settings.names.function(role)
        progress(f"updating the code of {name}")
        with aws_errors(f"update function code of {name}"):
            lambda_.update_function_code(FunctionName=name, S3Bucket=settings.names.code_bucket, S3Key=package.key)
            lambda_.get_waiter("function_updated_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": 120}
            )
    progress(f"functions of {settings.names.stack} run {package.key}")


def remove_service(config: Config, settings: AwsSettings, *, progress: Progress = SILENT.step) -> None:
    progress(f"removing {settings.names.stack} from {settings.region}")
    remove_deployment(settings, progress)


def upload_package(settings: AwsSettings, progress: Progress) -> Package:
    progress("building the functions' package from the installed code")
    package = build_package()
    s3 = settings.client("s3")
    bucket = settings.names.code_bucket
    size = f"{len(package.files)} files, {len(package.data) / 1024:.0f} KiB"
    progress(f"storing the package ({size}) as s3://{bucket}/{package.key}")
    buckets.ensure_private_bucket(s3, bucket, settings.region)
    buckets.put_once(s3, bucket, package.key, package.data)
    return package


def _check_updatable(stack: Stack, current: dict[str, Any], settings: AwsSettings) -> None:
    status = str(current["StackStatus"])
    if status.endswith("_IN_PROGRESS"):
        raise ProviderException(f"Stack {stack.name} is busy ({status}): wait until it finishes, then deploy again")
    if status == "UPDATE_ROLLBACK_FAILED":
        raise ProviderException(
            f"Stack {stack.name} is {status}: continue the rollback in CloudFormation, or redeploy with --clean"
        )
    before = stack.outputs(current).get(USER_STORAGE_OUTPUT)
    if before is not None and before != settings.user_storage.value:
        raise ConfigurationException(
            f"Config key 'user-storage' changed from {before!r} to {settings.user_storage.value!r}: the nodes "
            "cannot move between storages; redeploy with --clean (this deletes every node)"
        )


@runtime_checkable
class _Rooted(Protocol):
    def ensure_root(self) -> None: ...


def _ensure_root(deployed: Config, settings: AwsSettings, progress: Progress) -> None:
    """Create the root node, and, for a new deployment, first record its transaction id origin."""
    from faaskeeper_aws.provider import AwsProvider  # the runtime, only once the stack exists

    deployment = AwsProvider().open(deployed)
    try:
        if deployment.system_storage.read_node("/") is None:
            progress("recording the origin its transaction ids are shown from")
            record_origin(settings)
        progress("creating the root node / in system and user storage")
        for storage in (deployment.system_storage, deployment.user_storage):
            if not isinstance(storage, _Rooted):
                raise ProviderException(f"{type(storage).__name__} cannot create the root node")
            storage.ensure_root()
    finally:
        deployment.close()
