"""One function invoking another synchronously: Lambda's ``Invoke`` with ``RequestResponse``.

:func:`invoke` sends a JSON payload, waits for the function, and returns the JSON it answered;
if the invocation failed, or the function raised (Lambda answers ``FunctionError`` with the
error as the payload), it raises AWSException (a ProviderException) naming the function and the error.

moto stores functions but cannot run them. The Lambda emulator
(:mod:`faaskeeper_aws.functions.host`) runs each invocation inside :func:`emulated_lambda` with its
own ``Invoke``, so an invocation made by a function it runs goes to it instead of the Lambda API.
This is the one place where that choice is made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from faaskeeper.exceptions import AWSException
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors

#: ``Invoke`` as boto3's Lambda client has it: keyword parameters in, its response out.
Invoke = Callable[..., dict[str, Any]]

_emulator: ContextVar[Invoke | None] = ContextVar("faaskeeper_aws_emulated_lambda", default=None)


@contextmanager
def emulated_lambda(invoke: Invoke) -> Iterator[None]:
    """Run the body (an emulated invocation) with ``invoke`` as the Lambda service it invokes."""
    token = _emulator.set(invoke)
    try:
        yield
    finally:
        _emulator.reset(token)


def invoke(client: MeteredClient, function: str, payload: bytes) -> bytes:
    """Invoke ``function`` (a name or ARN) with ``payload`` and wait; what it returned, as JSON."""
    call = _emulator.get() or client.invoke
    with aws_errors(f"invoke {function}"):
        response = call(FunctionName=function, InvocationType="RequestResponse", Payload=payload)
        body: bytes = response["Payload"].read()
    if response.get("FunctionError"):
        raise AWSException(f"AWS function {function} failed: {_error(body)}")
    return body


def _error(body: bytes) -> str:
    """The error Lambda reports for a function that raised or was killed."""
    try:
        error = json.loads(body)
        return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:500]
