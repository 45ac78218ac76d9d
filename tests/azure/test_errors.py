"""The one boundary where Azure SDK errors become FaaSKeeper's: each status a user meets is told
with what to do about it, and the refusals of conditional writes are recognised as answers."""

from __future__ import annotations

import pytest
from azure.core import exceptions as core_errors
from azure.cosmos import exceptions as cosmos_errors

from faaskeeper.exceptions import ProviderException
from faaskeeper_azure.errors import azure_errors, is_conflict, is_missing, status_of
from faaskeeper_azure.names import ENV_COSMOS_ENDPOINT


def _raised(err: BaseException) -> ProviderException:
    with pytest.raises(ProviderException) as caught, azure_errors("commit"):
        raise err
    assert caught.value.__cause__ is err
    return caught.value


def test_throttling_names_the_request_units() -> None:
    message = str(_raised(cosmos_errors.CosmosHttpResponseError(status_code=429, message="Request rate is large")))
    assert message.startswith("Azure commit failed (429)")
    assert "throughput" in message
    assert "request units" in message


def test_a_full_partition_is_not_taken_for_a_refused_key() -> None:
    full = cosmos_errors.CosmosHttpResponseError(status_code=403, message="Partition key reached maximum size")
    full.sub_status = 1014
    message = str(_raised(full))
    assert "20 GB" in message
    assert "cosmos-key" not in message


def test_a_missing_resource_points_at_deploy() -> None:
    message = str(_raised(cosmos_errors.CosmosResourceNotFoundError(status_code=404, message="gone")))
    assert "(404)" in message
    assert "fk deploy service" in message


def test_a_refused_key_names_the_settings() -> None:
    message = str(_raised(core_errors.ClientAuthenticationError("Server failed to authenticate the request")))
    assert "azure.cosmos-key" in message


def test_an_unreachable_service_names_where_it_was_looked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_COSMOS_ENDPOINT, "https://127.0.0.1:9")
    message = str(_raised(core_errors.ServiceRequestError("Connection refused")))
    assert "AZURE_COSMOS_ENDPOINT=https://127.0.0.1:9" in message
    assert "python -m faaskeeper_azure.emulator.servers" in message


def test_an_oversized_item_is_named() -> None:
    assert "2 MB" in str(_raised(cosmos_errors.CosmosHttpResponseError(status_code=413, message="too large")))


def test_refusals_of_conditions_are_told_apart() -> None:
    exists = cosmos_errors.CosmosResourceExistsError(status_code=409, message="exists")
    changed = cosmos_errors.CosmosAccessConditionFailedError(status_code=412, message="changed")
    missing = cosmos_errors.CosmosResourceNotFoundError(status_code=404, message="missing")
    batch = cosmos_errors.CosmosBatchOperationError(
        error_index=1, headers={}, status_code=412, message="batch", operation_responses=[{"statusCode": 424}, {}]
    )
    assert [status_of(e) for e in (exists, changed, missing, batch)] == [409, 412, 404, 412]
    assert [is_conflict(e) for e in (exists, changed, missing, batch)] == [True, True, False, True]
    assert [is_missing(e) for e in (exists, changed, missing, batch)] == [False, False, True, False]
    assert status_of(core_errors.ServiceRequestError("no status")) is None
