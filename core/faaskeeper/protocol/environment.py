"""A function's environment variables, as the handlers read them.

On a cloud's function platform this is ``os.environ``. A local host of a provider's functions (the
AWS Lambda emulator, the GCP functions-framework host) runs several functions, of possibly several
deployments, in one process, so it does not touch the process-wide ``os.environ``: it sets each
invocation's variables with :func:`function_environment`, a context variable (per thread), which
:func:`getenv` reads first. Handlers must read their configuration through :func:`getenv`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

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
