"""The provider's one boundary where Azure SDK errors become FaaSKeeper's exceptions.

Storage code calls the SDK inside :func:`azure_errors`, which turns whatever the SDK raises into
a :class:`~faaskeeper.exceptions.ProviderException` naming the action and what to do about it. A
conditional write whose condition failed is not an error but an answer: :func:`status_of` tells
it (409 exists, 412 changed, 404 missing) inside the ``except`` clause of the caller, which
catches :data:`Refused` and re-reads or answers False.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core import exceptions as core_errors
from azure.cosmos import exceptions as cosmos_errors

from faaskeeper.exceptions import ProviderException
from faaskeeper_azure.names import EMULATOR_VARIABLES

#: HTTP statuses of the answers a conditional request may get.
CONFLICT = 409
PRECONDITION_FAILED = 412
NOT_FOUND = 404
TOO_MANY_REQUESTS = 429
#: Cosmos DB's sub-status of a 403 refusing a write to a logical partition that holds 20 GB.
PARTITION_FULL = 1014
#: Raised by a request whose condition failed (exists, changed, missing); the caller asks
#: :func:`status_of` which.
Refused = core_errors.HttpResponseError
#: A transactional batch one of whose operations failed (nothing of it was applied).
BatchFailed = cosmos_errors.CosmosBatchOperationError


def status_of(err: BaseException) -> int | None:
    """The HTTP status of an SDK error (a failed batch: that of its failing operation)."""
    code = getattr(err, "status_code", None)
    return int(code) if isinstance(code, int) else None


def is_conflict(err: BaseException) -> bool:
    """Whether ``err`` is a condition's refusal: the item exists (409) or changed (412)."""
    return status_of(err) in (CONFLICT, PRECONDITION_FAILED)


def is_missing(err: BaseException) -> bool:
    """Whether ``err`` says what was asked for is missing (404). A point read cannot tell a missing
    item from a missing container (the SDK reads the container first); writes can."""
    return status_of(err) == NOT_FOUND


def _hint(err: BaseException) -> str:
    status = status_of(err)
    if status == 403 and getattr(err, "sub_status", None) == PARTITION_FULL:
        return (
            "; the logical partition holds Cosmos DB's 20 GB: split the tree across deployments "
            "(see the Azure provider's page, 'Partition keys and their limits')"
        )
    if isinstance(err, core_errors.ClientAuthenticationError) or status in (401, 403):
        return "; the key or connection string was refused: check azure.cosmos-key and azure.storage-connection-string"
    if status == NOT_FOUND:
        return "; is the deployment deployed (fk deploy service)?"
    if status == TOO_MANY_REQUESTS:
        return (
            "; Cosmos DB throttled the request (429): the container's request units per second are used up; "
            "raise its throughput (see the Azure provider's page, 'Partition keys and their limits')"
        )
    if status == 413:
        return "; the item or batch is larger than Cosmos DB allows (2 MB)"
    if isinstance(err, core_errors.ServiceRequestError):
        return _unreachable_hint()
    return ""


def _unreachable_hint() -> str:
    given = [f"{name}={os.environ[name]}" for name in EMULATOR_VARIABLES if os.environ.get(name)]
    where = f" (from {', '.join(given)})" if given else ""
    return (
        f"; is the service reachable{where}? For the emulators, run python -m faaskeeper_azure.emulator.servers "
        "and export what it prints"
    )


def provider_error(action: str, err: BaseException) -> ProviderException:
    """The ProviderException for ``err``, an SDK error raised while doing ``action``."""
    status = status_of(err)
    code = f" ({status})" if status is not None else ""
    message = str(err).splitlines()[0] if str(err) else ""
    return ProviderException(f"Azure {action} failed{code}: {type(err).__name__}: {message}{_hint(err)}")


@contextmanager
def azure_errors(action: str) -> Iterator[None]:
    """Translate any Azure SDK error raised inside into ProviderException naming ``action``."""
    try:
        yield
    except core_errors.AzureError as err:
        raise provider_error(action, err) from err
    except ValueError as err:  # a malformed connection string or endpoint, found by the client's constructor
        raise ProviderException(f"Azure {action} failed: {err}") from err
