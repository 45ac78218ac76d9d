"""Azurite's queue service for the queue tests."""

from tests.azure.azurite import azure_storage_connection_string

__all__ = ["azure_storage_connection_string"]
