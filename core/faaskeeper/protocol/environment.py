"""A function's environment variables, as the handlers read them.

On a cloud's function platform this is ``os.environ``. A local host of a provider's functions (the
AWS Lambda emulator, the GCP functions-framework host) runs several functions, of possibly several
deployments, in one process, so it does not touch the process-wide ``os.environ``: it sets each
invocation's variables with :func:`function_environment`, a context variable (per thread), which
:func:`getenv` reads first. Handlers must read their configuration through :func:`getenv`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException

T = TypeVar("T")

#: The variable every provider's functions read their deployment from: the client config as JSON.
ENV_CONFIG = "FK_CONFIG"

_variables: ContextVar[Mapping[str, str] | None] = ContextVar("faaskeeper_function_environment", default=None)


def getenv(name: str) -> str | None:
    """The invocation's variable ``name`` if its host set one, else the process's."""
    variables = _variables.get()
    if variables is not None and name in variables:
        return variables[name]
    return os.environ.get(name)


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Run the body (an invocation) with ``variables`` as the function's configured environment."""
    token = _variables.set(dict(variables))
    try:
        yield
    finally:
        _variables.reset(token)


class PerDeployment(Generic[T]):
    """What a function instance builds once for each deployment its environment names in
    ``FK_CONFIG`` and keeps for later invocations (a host may serve several deployments)."""

    def __init__(self, build: Callable[[Config], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}
        self._guard = threading.Lock()

    def get(self) -> T:
        """The parts for this invocation's ``FK_CONFIG`` (built on first use);
        ConfigurationException if it is missing or not a config."""
        raw = getenv(ENV_CONFIG)
        if not raw:
            raise ConfigurationException(f"The function's environment lacks {ENV_CONFIG} (the client config as JSON)")
        with self._guard:
            built = self._built.get(raw)
            if built is None:
                try:
                    config = Config.deserialize(json.loads(raw))
                except ValueError as err:
                    raise ConfigurationException(f"{ENV_CONFIG} is not valid JSON: {err}") from err
                built = self._built[raw] = self._build(config)
            return built
