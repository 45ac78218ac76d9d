"""The provider's one boundary where boto3 and botocore errors become FaaSKeeper's exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from faaskeeper.exceptions import AWSException


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Translate any AWS SDK error raised inside into AWSException (a ProviderException) naming ``action``."""
    try:
        yield
    except ClientError as err:
        message = err.response.get("Error", {}).get("Message", "")
        raise AWSException(f"AWS {action} failed: {error_code(err)}: {message}") from err
    except BotoCoreError as err:
        raise AWSException(f"AWS {action} failed: {err}") from err
