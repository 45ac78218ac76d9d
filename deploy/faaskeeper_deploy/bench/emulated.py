"""The functions of a deployment on an emulated cloud, run for the length of a ``fk bench`` run.

An AWS deployment on moto has its functions stored but never run (moto cannot run Lambda code),
and a GCP deployment on the emulators pushes to a functions-framework endpoint that may not be
served: the provider's cost model runs them in this process, as ``fk cost`` does
(:meth:`~faaskeeper.api.cost.CostModel.bench_functions`). Elsewhere (the local provider, a real
cloud) the deployment runs its own functions and nothing is started.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider


@contextmanager
def emulated_functions(config: Config) -> Iterator[dict[str, Any]]:
    """Run ``config``'s functions while the block runs if its cloud is emulated; what was started."""
    model = get_provider(config.cloud_provider).cost_model(config)
    if model is None:
        yield {}
        return
    with model.bench_functions() as started:
        yield started
