"""A deployment's Cosmos DB containers, with every request's errors translated.

Items are JSON documents with an ``id`` and the partition key ``pk``. Conditional writes compare
ETags: a write that must not overwrite a change it has not seen carries the ``_etag`` of the item
it was computed from (``IfNotModified``), a create fails on an existing id, and a transactional
batch of such writes within one partition key is atomic. A failed condition returns False (or
None) and the caller re-reads; nothing else is retried here, as the SDK itself retries
throttling (429) and requests that failed in transit.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy, PartitionKey

from faaskeeper.exceptions import ProviderException
from faaskeeper_azure.errors import BatchFailed, Refused, azure_errors, is_conflict, is_missing, status_of
from faaskeeper_azure.names import PARTITION_KEY_PATH
from faaskeeper_azure.settings import AzureSettings

#: An item as Cosmos DB returns it: its fields, ``_etag`` among them.
Document: TypeAlias = dict[str, Any]
#: One operation of a transactional batch, as ``execute_item_batch`` takes it.
Operation: TypeAlias = tuple[Any, ...]
#: The longest item id Cosmos DB accepts.
MAX_ID = 255
#: Operations of one transactional batch at most.
MAX_BATCH = 100
#: Attempts at a read-decide-write cycle whose condition keeps failing.
CYCLES = 50


def item_id(name: str) -> str:
    """``name`` (a node path, a session id, ...) as an item id, one-to-one.

    Ids may not hold ``/``, ``\\``, ``?`` or ``#``: the name is percent-encoded with ``!`` for
    ``%`` (which leaves only letters, digits and ``_.-~!``, and ``!`` only from an escape). An id
    longer than Cosmos DB takes is ``~`` and the name's SHA-256, which no encoded name begins
    with unless it began with ``~``: those are hashed too."""
    encoded = urllib.parse.quote(name, safe="").replace("%", "!")
    if len(encoded) <= MAX_ID and not encoded.startswith("~"):
        return encoded
    return "~" + hashlib.sha256(name.encode()).hexdigest()


def create_containers(settings: AzureSettings, *, user_container: bool = False) -> None:
    """The deployment's database and its containers, if missing: system storage, and with
    ``user_container`` the key-value user nodes."""
    client = settings.cosmos()
    names = settings.names
    with azure_errors(f"create the Cosmos DB database {settings.database}"):
        database = client.create_database_if_not_exists(settings.database)
        database.create_container_if_not_exists(names.system_container, PartitionKey(PARTITION_KEY_PATH))
        if user_container:
            database.create_container_if_not_exists(names.user_container, PartitionKey(PARTITION_KEY_PATH))


def delete_database(settings: AzureSettings) -> bool:
    """Delete the deployment's database and all it holds; False if there was none."""
    with azure_errors(f"delete the Cosmos DB database {settings.database}"):
        try:
            settings.cosmos().delete_database(settings.database)
        except Refused as err:
            if is_missing(err):
                return False
            raise
    return True


@dataclass(frozen=True)
class Refusal:
    """A transactional batch that applied nothing: its operation ``index`` was refused with ``status``
    (409 the item exists, 412 it changed, 404 it is missing)."""

    index: int
    status: int


def exhausted(what: str) -> ProviderException:
    return ProviderException(f"Azure {what} failed: the items kept changing ({CYCLES} attempts)")


def cycles() -> range:
    """The attempts of a read-decide-write cycle; raise :func:`exhausted` after the last."""
    return range(CYCLES)


def if_unchanged(etag: str) -> dict[str, Any]:
    """The keyword arguments of a write conditional on the item's ETag."""
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


class Container:
    """One container of the deployment's database."""

    def __init__(self, settings: AzureSettings, name: str) -> None:
        self.name = name
        self._proxy: ContainerProxy = settings.database_client().get_container_client(name)

    def read(self, pk: str, id_: str, action: str) -> Document | None:
        with azure_errors(action):
            try:
                found: Document = self._proxy.read_item(id_, partition_key=pk)
            except Refused as err:
                if is_missing(err):
                    return None
                raise
        return found

    def create(self, document: Document, action: str) -> Document | None:
        """Create ``document``; None if an item of its id exists."""
        with azure_errors(action):
            try:
                created: Document = self._proxy.create_item(document)
            except Refused as err:
                if is_conflict(err):
                    return None
                raise
        return created

    def upsert(self, document: Document, action: str) -> Document:
        with azure_errors(action):
            written: Document = self._proxy.upsert_item(document)
        return written

    def replace(self, document: Document, etag: str, action: str) -> Document | None:
        """Replace the item if it is unchanged since it had ``etag``; None if it changed or is gone."""
        with azure_errors(action):
            try:
                written: Document = self._proxy.replace_item(document["id"], document, **if_unchanged(etag))
            except Refused as err:
                if is_conflict(err) or is_missing(err):
                    return None
                raise
        return written

    def delete(self, pk: str, id_: str, action: str, etag: str | None = None) -> bool:
        """Delete the item (if unchanged since it had ``etag``); False if it was gone or changed."""
        conditions = if_unchanged(etag) if etag is not None else {}
        with azure_errors(action):
            try:
                self._proxy.delete_item(id_, partition_key=pk, **conditions)
            except Refused as err:
                if is_conflict(err) or is_missing(err):
                    return False
                raise
        return True

    def query(self, pk: str, where: str, action: str, **parameters: Any) -> list[Document]:
        """The items of partition ``pk`` matching ``where`` (over ``c``, with ``@name`` parameters)."""
        sql = f"SELECT * FROM c WHERE c.pk = @pk AND ({where})" if where else "SELECT * FROM c WHERE c.pk = @pk"
        values = [{"name": "@pk", "value": pk}, *({"name": f"@{k}", "value": v} for k, v in parameters.items())]
        with azure_errors(action):
            return list(self._proxy.query_items(sql, parameters=values, partition_key=pk))

    def count(self, pk: str, where: str, action: str) -> int:
        """How many items of partition ``pk`` match ``where``."""
        sql = (
            f"SELECT VALUE COUNT(1) FROM c WHERE c.pk = @pk AND ({where})"
            if where
            else ("SELECT VALUE COUNT(1) FROM c WHERE c.pk = @pk")
        )
        with azure_errors(action):
            found: list[Any] = list(
                self._proxy.query_items(sql, parameters=[{"name": "@pk", "value": pk}], partition_key=pk)
            )
        return sum(int(n) for n in found)

    def batch(self, pk: str, operations: Sequence[Operation], action: str) -> list[Document] | Refusal:
        """Apply ``operations`` atomically within partition ``pk``: the result of each, in order;
        a :class:`Refusal` (nothing applied) if one's condition failed (exists, changed, missing)."""
        if not operations:
            return []
        if len(operations) > MAX_BATCH:
            raise ProviderException(
                f"Azure {action} failed: {len(operations)} writes, more than one Cosmos DB transactional batch "
                f"holds ({MAX_BATCH})"
            )
        with azure_errors(action):
            try:
                results = self._proxy.execute_item_batch(list(operations), partition_key=pk)
            except BatchFailed as err:
                if is_conflict(err) or is_missing(err):
                    return Refusal(int(err.error_index), status_of(err) or 0)
                raise
        return list(results)
