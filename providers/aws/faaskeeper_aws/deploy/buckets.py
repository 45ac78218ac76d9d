"""S3 buckets outside the stack's care: the code bucket's lifecycle, and emptying buckets for removal."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors, error_code

_MISSING = frozenset({"404", "NoSuchBucket", "NotFound"})
#: DeleteObjects takes at most this many keys.
_BATCH = 1000


def bucket_exists(s3: Any, bucket: str) -> bool:
    with aws_errors(f"head bucket {bucket}"):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as err:
            if error_code(err) in _MISSING:
                return False
            if error_code(err) in ("403", "AccessDenied"):
                raise ProviderException(
                    f"S3 bucket {bucket} exists but is not yours (bucket names are global): "
                    "choose another deployment-name, or 'aws.data-bucket' for the data bucket"
                ) from err
            raise
    return True


def ensure_private_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create ``bucket`` (public access blocked) unless it exists; True if it was created."""
    if bucket_exists(s3, bucket):
        return False
    with aws_errors(f"create bucket {bucket}"):
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    return True


def put_once(s3: Any, bucket: str, key: str, data: bytes) -> bool:
    """Upload ``data`` unless ``key`` exists (keys name their content); True if uploaded."""
    with aws_errors(f"upload s3://{bucket}/{key}"):
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return False
        except ClientError as err:
            if error_code(err) not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    return True


def delete_keys_except(s3: Any, bucket: str, prefix: str, keep: str) -> int:
    """Delete the objects under ``prefix`` other than ``keep``; how many were deleted."""
    with aws_errors(f"list s3://{bucket}/{prefix}"):
        keys = [
            {"Key": item["Key"]}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
            if item["Key"] != keep
        ]
    _delete(s3, bucket, keys)
    return len(keys)


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object, version and delete marker in ``bucket``; how many were deleted."""
    deleted = 0
    with aws_errors(f"list s3://{bucket}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            _delete(s3, bucket, keys)
            deleted += len(keys)
        # Versioned buckets keep old versions and delete markers that also block deleting the bucket.
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            versions = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            _delete(s3, bucket, versions)
            deleted += len(versions)
    return deleted


def remove_bucket(s3: Any, bucket: str) -> bool:
    """Empty and delete ``bucket`` if it exists; True if it existed."""
    if not bucket_exists(s3, bucket):
        return False
    empty_bucket(s3, bucket)
    with aws_errors(f"delete bucket {bucket}"):
        try:
            s3.delete_bucket(Bucket=bucket)
        except ClientError as err:
            if error_code(err) not in _MISSING:
                raise
    return True


def _delete(s3: Any, bucket: str, objects: list[dict[str, str]]) -> None:
    for start in range(0, len(objects), _BATCH):
        with aws_errors(f"delete objects in s3://{bucket}"):
            chunk = objects[start : start + _BATCH]
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
        if result.get("Errors"):
            first = result["Errors"][0]
            raise ProviderException(
                f"AWS delete objects in s3://{bucket} failed for {len(result['Errors'])} objects, "
                f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )
