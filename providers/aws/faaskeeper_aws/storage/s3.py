"""User storage in S3 (``user-storage: persistent``): one object per node in the data bucket.

Key: ``nodes`` + the path (``nodes/`` for the root, ``nodes/a/b`` for ``/a/b``), so distinct
paths are distinct keys and other objects of the bucket (large queue payloads) stay apart.
Body: the metadata header of :mod:`faaskeeper_aws.storage.node_format`, then the data. A read is one
GET; a read without data is one ranged GET of the first 16 KB, which holds the header unless a
directory's children list is larger (then one more ranged GET fetches the rest of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from faaskeeper.api.storage import UserStorage
from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Footprint, Node, Stat
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.node_format import decode, header, header_length

KEY_PREFIX = "nodes"
#: Bytes fetched by a read without data: the header of any node with a few hundred children.
HEADER_RANGE = 16 * 1024
_MISSING = ("NoSuchKey", "404")
_CHANGED = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
_ATTEMPTS = 10
_READERS = 16


def object_key(path: str) -> str:
    return KEY_PREFIX + path


class S3UserStorage(UserStorage):
    def __init__(self, settings: AwsSettings) -> None:
        self._s3 = MeteredClient(settings.client("s3"), "s3")
        self._bucket = settings.data_bucket

    def ensure_root(self) -> None:
        with aws_errors("create the root node"):
            try:
                self._s3.put_object(Bucket=self._bucket, Key=object_key("/"), Body=header(Stat(), ()), IfNoneMatch="*")
            except ClientError as err:
                if error_code(err) not in _CHANGED:
                    raise

    def _get(self, path: str, **params: str) -> tuple[bytes, str] | None:
        """The object's body (or the requested range) and ETag; None if there is no object."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=object_key(path), **params)
        except ClientError as err:
            if error_code(err) in _MISSING:
                return None
            raise
        with response["Body"] as body:
            return bytes(body.read()), str(response.get("ETag", ""))

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        with aws_errors("read node"):
            if with_data:
                found = self._get(path)
                return decode(path, found[0]) if found is not None else None
            for _attempt in range(_ATTEMPTS):
                found = self._get(path, Range=f"bytes=0-{HEADER_RANGE - 1}")
                if found is None:
                    return None
                prefix, etag = found
                end = header_length(prefix)
                if len(prefix) >= end:
                    return decode(path, prefix[:end], with_data=False)
                try:  # a header longer than the first range: the rest of it, of the same version
                    rest = self._get(path, Range=f"bytes={len(prefix)}-{end - 1}", IfMatch=etag)
                except ClientError as err:
                    if error_code(err) not in _CHANGED:
                        raise
                    continue
                if rest is None:
                    return None
                return decode(path, prefix + rest[0], with_data=False)
        raise ProviderException(f"AWS read node failed: {path} kept changing")

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        wanted = list(paths)
        if len(wanted) <= 1:
            return [self.read(p) for p in wanted]
        with ThreadPoolExecutor(max_workers=min(_READERS, len(wanted))) as pool:
            return list(pool.map(self.read, wanted))

    def write(self, node: Node) -> None:
        body = header(node.stat, node.children or (), node.epoch, node.footprint) + bytes(node.data or b"")
        with aws_errors("write node"):
            self._s3.put_object(Bucket=self._bucket, Key=object_key(node.path), Body=body)

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        """Read the object, write it back with the new header and the same data, conditional on
        its ETag (only the distributor writes, in order; the condition guards a stale one)."""
        with aws_errors("update node metadata"):
            for _attempt in range(_ATTEMPTS):
                found = self._get(path)
                if found is None:
                    return  # a missing node stays missing, as in the local provider
                body, etag = found
                data = body[header_length(body) :]
                try:
                    self._s3.put_object(
                        Bucket=self._bucket,
                        Key=object_key(path),
                        Body=header(stat, children, footprint=footprint) + data,
                        IfMatch=etag,
                    )
                    return
                except ClientError as err:
                    if error_code(err) in _MISSING:
                        return
                    if error_code(err) not in _CHANGED:
                        raise
        raise ProviderException(f"AWS update node metadata failed: {path} kept changing")

    def delete(self, path: str) -> None:
        with aws_errors("delete node"):
            self._s3.delete_object(Bucket=self._bucket, Key=object_key(path))
