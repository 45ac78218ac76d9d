"""Message bodies on SQS: binary as base64 text, and bodies too large for SQS offloaded to S3.

FaaSKeeper's messages are binary (the core codec) and a node holds up to 1 MiB, but an SQS
message is text of at most 256 KiB. A body is therefore sent as one of

* ``b64:<base64 of the body>`` when that fits in :data:`INLINE_LIMIT` characters, or
* ``s3:{"bucket": ..., "key": ..., "size": ..., "sha256": ...}``: a pointer to an object under
  :data:`PREFIX` in the deployment's data bucket holding the body.

The object's key is derived from the queue, the deduplication id and the body's digest, so a
retried send uploads the same object instead of orphaning one. Whoever consumes the message
deletes the object after the message is done (:meth:`PayloadStore.discard`); a dead-lettered
message keeps its object so the dead-letter queue stays inspectable. Objects of messages never
consumed (a sender dying between upload and send, a client queue deleted with messages in it)
are left to the bucket's lifecycle rule on :data:`PREFIX`, or to ``fk remove``.

A body that is neither form, or a pointer outside the prefix, of the wrong size or digest, or to
a missing object, is :class:`~faaskeeper.protocol.codec.MalformedMessage`: it is dead-lettered,
never retried and never applied.

Both senders of SQS messages use it, the queues (:mod:`faaskeeper_aws.queues`) and the client
channel (:mod:`faaskeeper_aws.channel`), so it lives beside them rather than under either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.settings import AwsSettings

INLINE = "b64:"
POINTER = "s3:"
PREFIX = "queue-payloads/"
#: SQS's limit on a message (256 KiB, attributes included) less room for our attributes.
SQS_MESSAGE_LIMIT = 256 * 1024
INLINE_LIMIT = SQS_MESSAGE_LIMIT - 4 * 1024
_MISSING = ("NoSuchKey", "404")


@dataclass(frozen=True)
class Decoded:
    """A message body, and the object it was offloaded to (None when it came inline)."""

    body: bytes
    key: str | None = None


class PayloadStore:
    """Encodes bodies as SQS message text and back, offloading large ones to the data bucket."""

    def __init__(self, settings: AwsSettings, *, inline_limit: int = INLINE_LIMIT) -> None:
        self._bucket = settings.data_bucket
        self._settings = settings
        self._s3_client: MeteredClient | None = None
        self.inline_limit = inline_limit

    @property
    def _s3(self) -> MeteredClient:
        if self._s3_client is None:
            self._s3_client = MeteredClient(self._settings.client("s3"), "s3")
        return self._s3_client

    def encode(self, body: bytes, queue: str, dedup_id: str) -> str:
        """The message text for ``body`` sent to ``queue`` with ``dedup_id``."""
        text = INLINE + base64.b64encode(body).decode("ascii")
        if len(text) <= self.inline_limit:
            return text
        digest = hashlib.sha256(body).hexdigest()
        name = hashlib.sha256(f"{dedup_id}\n{digest}".encode()).hexdigest()
        key = f"{PREFIX}{queue}/{name}"
        with aws_errors(f"offload a {len(body)}-byte message body to s3://{self._bucket}/{key}"):
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)
        pointer = {"bucket": self._bucket, "key": key, "size": len(body), "sha256": digest}
        return POINTER + json.dumps(pointer, separators=(",", ":"))

    def decode(self, text: str) -> Decoded:
        """The body ``text`` carries; MalformedMessage if it is not one of ours."""
        if text.startswith(INLINE):
            try:
                return Decoded(base64.b64decode(text[len(INLINE) :], validate=True))
            except (binascii.Error, ValueError) as err:
                raise MalformedMessage(f"message body is not valid base64: {err}") from err
        if text.startswith(POINTER):
            return self._fetch(text[len(POINTER) :])
        raise MalformedMessage("message body is neither inline (b64:) nor offloaded (s3:)")

    def _fetch(self, raw: str) -> Decoded:
        try:
            pointer = json.loads(raw)
            bucket, key, size, digest = pointer["bucket"], pointer["key"], pointer["size"], pointer["sha256"]
        except (ValueError, TypeError, KeyError) as err:
            raise MalformedMessage(f"offloaded message pointer is malformed: {err!r}") from err
        if bucket != self._bucket or not isinstance(key, str) or not key.startswith(PREFIX) or ".." in key:
            raise MalformedMessage(f"offloaded message pointer outside s3://{self._bucket}/{PREFIX}: {bucket}/{key}")
        with aws_errors(f"fetch an offloaded message body from s3://{bucket}/{key}"):
            try:
                response = self._s3.get_object(Bucket=bucket, Key=key)
            except ClientError as err:
                if error_code(err) in _MISSING:
                    raise MalformedMessage(f"offloaded message body s3://{bucket}/{key} is gone") from err
                raise
            with response["Body"] as stream:
                body = bytes(stream.read())
        if len(body) != size or hashlib.sha256(body).hexdigest() != digest:
            raise MalformedMessage(f"offloaded message body s3://{bucket}/{key} does not match its pointer")
        return Decoded(body, key)

    def discard(self, key: str | None) -> None:
        """Delete an offloaded body whose message is done (no-op for inline bodies)."""
        if key is None:
            return
        with aws_errors(f"delete the offloaded message body s3://{self._bucket}/{key}"):
            self._s3.delete_object(Bucket=self._bucket, Key=key)

    @staticmethod
    def offloaded_key(text: str) -> str | None:
        """The object a message text points to, without fetching it (None if inline or unreadable)."""
        if not text.startswith(POINTER):
            return None
        try:
            key = json.loads(text[len(POINTER) :]).get("key")
        except (ValueError, AttributeError):
            return None
        return key if isinstance(key, str) and key.startswith(PREFIX) else None
