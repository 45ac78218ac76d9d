"""Building a :class:`~faaskeeper_aws.functions.host.LambdaEmulator` for a deployment.

* :func:`deployed_functions`: from what is deployed. For each of the deployment's queues, its
  event source mappings (``ListEventSourceMappings``), each mapped function's ``Handler`` and
  environment (``GetFunctionConfiguration``); the heartbeat rule's targets (EventBridge); the
  watch function, which the distributor invokes. This is how the stack created by ``fk deploy``
  runs on moto.
* :func:`local_functions`: without a stack: the deployment's writer and distributor queues
  (created some other way, e.g. by tests) wired to this package's handlers, and its watch
  function, with ``FK_CONFIG`` set from the config.

While it runs, the emulator takes the deployment's event source mappings over from moto
(:mod:`faaskeeper_aws.deploy.mappings`): it disables them when it starts and enables them again when it
stops; mappings an emulator killed earlier left disabled are taken over as well. It refuses to do so
unless an endpoint override (``AWS_ENDPOINT_URL`` or the config's ``aws.endpoint-url``) shows it is
not talking to AWS itself.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException, ProviderException
from faaskeeper_aws.deploy.mappings import LEASE_SECONDS, Takeover, queue_mappings
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.functions.host import Handler, InvokedFunction, LambdaEmulator, QueueTrigger, ScheduledTrigger
from faaskeeper_aws.names import ENV_CONFIG, ENV_DEPLOYMENT
from faaskeeper_aws.settings import AwsSettings

log = logging.getLogger("faaskeeper.aws.lambda")

HANDLERS = "faaskeeper_aws.functions.handlers"


def resolve_handler(spec: str) -> Handler:
    """A Lambda ``Handler`` setting (``module.function``, or ``path/module.function``) as a callable."""
    module_name, _, function = spec.replace("/", ".").rpartition(".")
    if not module_name or not function:
        raise ConfigurationException(f"Lambda handler {spec!r} is not of the form module.function")
    try:
        handler = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as err:
        raise ConfigurationException(f"Lambda handler {spec!r} cannot be found: {err}") from err
    if not callable(handler):
        raise ConfigurationException(f"Lambda handler {spec!r} is not callable")
    return handler  # type: ignore[no-any-return]


def handler_environment(config: Config) -> dict[str, str]:
    """The environment the deployment's functions get (as the stack sets it)."""
    return {ENV_CONFIG: json.dumps(config.serialize()), ENV_DEPLOYMENT: config.deployment_name}


def local_functions(config: Config, settings: AwsSettings, *, batch_size: int = 10, **options: Any) -> LambdaEmulator:
    """The deployment's functions on its existing queues, without a stack (tests)."""
    environment = handler_environment(config)
    names = settings.names
    queues = [
        QueueTrigger(names.function(role), queue, resolve_handler(f"{HANDLERS}.{role}"), environment, batch_size)
        for role, queue in (("writer", names.writer_queue), ("distributor", names.distributor_queue))
    ]
    heartbeat = ScheduledTrigger(
        names.function("heartbeat"), resolve_handler(f"{HANDLERS}.heartbeat"), config.heartbeat_frequency, environment
    )
    watch = InvokedFunction(names.function("watch"), resolve_handler(f"{HANDLERS}.watch"), environment)
    return LambdaEmulator(settings, queues, [heartbeat], invoked=[watch], **options)


def deployed_functions(
    settings: AwsSettings, *, take_over: bool = True, heartbeat_interval: float | None = None, **options: Any
) -> LambdaEmulator:
    """The deployed functions as their event source mappings and schedule trigger them; the emulator
    takes the mappings over while it runs (``take_over``; only on an emulated AWS).

    ``heartbeat_interval`` defaults to the ``heartbeat-frequency`` of the heartbeat function's
    ``FK_CONFIG``: EventBridge's one-minute minimum would make tests wait for minutes."""
    if take_over and not settings.emulated:
        raise ConfigurationException(
            "The Lambda emulator takes over event source mappings only on an emulated AWS (moto): "
            "set AWS_ENDPOINT_URL or the config's aws.endpoint-url"
        )
    lam = settings.client("lambda")
    names = settings.names
    mappings = queue_mappings(settings)
    held = [m for m in mappings if m.held(time.time())]
    if take_over and held:
        raise ProviderException(
            f"The functions of deployment {names.deployment!r} already run in an emulator ({held[0].holder}): "
            f"stop it first (one killed on another machine lets them go within {LEASE_SECONDS:.0f} s)"
        )
    taken = [m for m in mappings if m.enabled or (take_over and m.abandoned)]
    if not taken:
        raise ProviderException(
            f"No enabled event source mapping feeds the queues of deployment {names.deployment!r}: "
            "'fk deploy service' enables them"
        )
    queues: list[QueueTrigger] = []
    for mapping in taken:
        function = _function(lam, str(mapping.description["FunctionArn"]))
        queues.append(
            QueueTrigger(
                function=str(function["FunctionName"]),
                queue=mapping.queue,
                handler=resolve_handler(str(function["Handler"])),
                environment=_variables(function),
                batch_size=int(mapping.description.get("BatchSize", 10)),
                report_failures="ReportBatchItemFailures" in mapping.description.get("FunctionResponseTypes", []),
                timeout=float(function.get("Timeout", 30)),
            )
        )
    schedules = _schedules(settings, heartbeat_interval)
    takeover = Takeover(settings, taken) if take_over else None
    return LambdaEmulator(
        settings,
        queues,
        schedules,
        invoked=_invoked(settings),
        on_start=takeover.take if takeover else None,
        on_stop=takeover.hand_back if takeover else None,
        **options,
    )


def _invoked(settings: AwsSettings) -> list[InvokedFunction]:
    """The watch function, if the stack has one (a stack deployed before it existed has none)."""
    name = settings.names.function("watch")
    with aws_errors(f"read the configuration of {name}"):
        try:
            function = dict(settings.client("lambda").get_function_configuration(FunctionName=name))
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                return []
            raise
    return [
        InvokedFunction(
            function=name,
            handler=resolve_handler(str(function["Handler"])),
            environment=_variables(function),
            timeout=float(function.get("Timeout", 30)),
        )
    ]


def _function(lam: Any, arn: str) -> dict[str, Any]:
    with aws_errors(f"read the configuration of {arn}"):
        return dict(lam.get_function_configuration(FunctionName=arn))


def _variables(function: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in function.get("Environment", {}).get("Variables", {}).items()}


def _schedules(settings: AwsSettings, interval: float | None) -> list[ScheduledTrigger]:
    events = settings.client("events")
    rule_name = settings.names.heartbeat_rule
    with aws_errors(f"read the schedule {rule_name}"):
        rules = events.list_rules(NamePrefix=rule_name)["Rules"]
    out: list[ScheduledTrigger] = []
    for rule in rules:
        if rule.get("Name") != rule_name or rule.get("State") != "ENABLED":
            continue
        with aws_errors(f"read the targets of {rule_name}"):
            targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        for target in targets:
            function = _function(settings.client("lambda"), str(target["Arn"]))
            environment = _variables(function)
            every = interval
            if every is None:
                config = environment.get(ENV_CONFIG)
                if not config:
                    raise ConfigurationException(f"{function['FunctionName']} has no {ENV_CONFIG} to read its schedule")
                every = Config.deserialize(json.loads(config)).heartbeat_frequency
            out.append(
                ScheduledTrigger(
                    function=str(function["FunctionName"]),
                    handler=resolve_handler(str(function["Handler"])),
                    interval=every,
                    environment=environment,
                    rule_arn=str(rule.get("Arn", "")),
                    timeout=float(function.get("Timeout", 60)),
                )
            )
    return out
