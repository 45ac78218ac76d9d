"""The functions of a deployment on an emulated cloud, run for the length of a ``fk bench`` run.

An AWS deployment on moto has its functions stored but never run (moto cannot run Lambda code), so
``fk bench --config`` of one runs them in :mod:`faaskeeper_aws.lambda_host`'s emulator in this
process, fed by the stack's event source mappings, as ``fk cost`` does. Elsewhere (the local
provider, real AWS) the deployment runs its own functions and nothing is started.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faaskeeper.config import Config

#: Longer than the emulator's long polls (1 s) and the request that makes one.
SETTLE_SECONDS = 2.0


def _endpoint(config: Config) -> str | None:
    endpoint = config.provider_section.get("endpoint-url") or os.environ.get("AWS_ENDPOINT_URL")
    return str(endpoint) if endpoint else None


@contextmanager
def emulated_functions(config: Config) -> Iterator[dict[str, Any]]:
    """Run ``config``'s functions while the block runs if its cloud is emulated; what was started."""
    endpoint = _endpoint(config) if config.cloud_provider == "aws" else None
    if endpoint is None:
        yield {}
        return
    from faaskeeper_aws.lambda_stack import deployed_functions
    from faaskeeper_aws.settings import AwsSettings

    emulator = deployed_functions(AwsSettings.from_config(config))
    try:
        with emulator:
            yield {
                "functions": "Lambda emulator (faaskeeper_aws.lambda_host) in the bench process",
                "endpoint": endpoint,
            }
    finally:
        # A stopped emulator's pollers finish the long poll they are in and drop what it returns
        # (it shows again after the visibility timeout): let them end before another run sends.
        time.sleep(SETTLE_SECONDS)
