"""The Google Cloud APIs that deploy functions and schedules to a real project, behind one seam.

Deploying to a real project (a config without ``gcp.functions-endpoint``) talks to the Cloud
Functions v2 API (``google-cloud-functions``), the Cloud Scheduler API
(``google-cloud-scheduler``) and, to upload the source archive, the signed URL the Functions API
hands out (an HTTP PUT with ``requests``). Those clients are imported only here and only then:
the plugin loads without them (``pip install 'faaskeeper-gcp[deploy]'`` adds them).

:func:`connect` is the one place the deploy code gets them from; :func:`use` makes it return
other objects with the same methods for the length of a block (tests, or an application
embedding FaaSKeeper with its own clients). Requests are passed as dicts, which the clients
accept in place of their request messages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from faaskeeper.exceptions import ConfigurationException, ProviderException
from faaskeeper_gcp.errors import gcp_errors

#: Seconds to wait for an upload, and for a function's create, update or delete to finish.
UPLOAD_TIMEOUT = 300.0
OPERATION_TIMEOUT = 900.0


@dataclass(frozen=True)
class CloudApis:
    #: ``google.cloud.functions_v2.FunctionServiceClient`` or an object with its methods.
    functions: Any
    #: ``google.cloud.scheduler_v1.CloudSchedulerClient`` or an object with its methods.
    scheduler: Any
    #: PUTs a zip archive to a signed upload URL: ``upload(url, data)``.
    upload: Callable[[str, bytes], None]


_override: CloudApis | None = None


@contextmanager
def use(apis: CloudApis) -> Iterator[CloudApis]:
    """Make :func:`connect` return ``apis`` while the block runs."""
    global _override
    saved, _override = _override, apis
    try:
        yield apis
    finally:
        _override = saved


def connect() -> CloudApis:
    """The Cloud Functions and Cloud Scheduler clients, with the project's default credentials."""
    if _override is not None:
        return _override
    try:
        requests = importlib.import_module("requests")
        functions_v2 = importlib.import_module("google.cloud.functions_v2")
        scheduler_v1 = importlib.import_module("google.cloud.scheduler_v1")
    except ImportError as err:
        raise ConfigurationException(
            f"Deploying the functions to a Google Cloud project needs the Cloud Functions and Cloud Scheduler "
            f"clients ({err.name} is missing): pip install 'faaskeeper-gcp[deploy]'; or give 'gcp.functions-endpoint' "
            "to serve the functions with functions-framework"
        ) from err

    def upload(url: str, data: bytes) -> None:
        try:
            response = requests.put(url, data=data, headers={"Content-Type": "application/zip"}, timeout=UPLOAD_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as err:
            raise ProviderException(f"GCP upload of the functions' source archive failed: {err}") from err

    with gcp_errors("connect to the Cloud Functions and Cloud Scheduler APIs"):
        return CloudApis(
            functions=functions_v2.FunctionServiceClient(), scheduler=scheduler_v1.CloudSchedulerClient(), upload=upload
        )
