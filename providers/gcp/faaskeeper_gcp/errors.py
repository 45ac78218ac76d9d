"""The provider's one boundary where Google Cloud SDK errors (and those of HTTP calls between the
functions) become FaaSKeeper's exceptions, each with a hint at what to do about it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from google.api_core import exceptions as google_errors
from google.auth import exceptions as auth_errors
from google.cloud.pubsub_v1.publisher.exceptions import PublishToPausedOrderingKeyException

from faaskeeper.exceptions import ProviderException
from faaskeeper_gcp.names import EMULATOR_VARIABLES

#: Raised by conditional writes whose condition failed: the caller re-reads and decides again.
Conflict = (google_errors.FailedPrecondition, google_errors.AlreadyExists, google_errors.Aborted)
NotFound = google_errors.NotFound
#: A call's own deadline passed (a pull that found nothing in time).
DeadlineExceeded = google_errors.DeadlineExceeded
#: Worth trying again at once: contention (the emulator aborts even plain writes) and hiccups.
Transient = (google_errors.Aborted, google_errors.ServiceUnavailable, google_errors.DeadlineExceeded)

_ROLES_HINT = "the roles it needs are in the README's 'Deploying to a Google Cloud project'"


def credentials_hint() -> str:
    """What to set up so that Google's clients find credentials, or the emulators."""
    missing = [name for name in EMULATOR_VARIABLES if not os.environ.get(name)]
    given = [name for name in EMULATOR_VARIABLES if name not in missing]
    if given:
        emulators = f"for the emulators set {' and '.join(missing)} too ({given[0]} is set)"
    else:
        emulators = (
            f"for the emulators set {' and '.join(missing)} (python -m faaskeeper_gcp.emulator.servers prints them)"
        )
    return (
        "for a project run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS); "
        + emulators
    )


def _hint(err: google_errors.GoogleAPIError) -> str:
    if isinstance(err, google_errors.Unauthorized):
        return f"; the credentials were refused: {credentials_hint()}"
    if isinstance(err, google_errors.Forbidden):
        return f"; the credentials lack a permission this needs ({_ROLES_HINT})"
    if isinstance(err, google_errors.NotFound):
        return "; is the project right, its Firestore database made, and the deployment deployed (fk deploy service)?"
    if isinstance(err, google_errors.RetryError | google_errors.ServiceUnavailable):
        return _unreachable_hint()
    return ""


def _unreachable_hint() -> str:
    emulators = [f"{name}={os.environ[name]}" for name in EMULATOR_VARIABLES if os.environ.get(name)]
    where = f" (the emulators at {', '.join(emulators)})" if emulators else ""
    return f"; is the service reachable{where}?"


@contextmanager
def gcp_errors(action: str) -> Iterator[None]:
    """Translate any Google Cloud SDK error raised inside into ProviderException naming ``action``."""
    try:
        yield
    except google_errors.GoogleAPIError as err:
        raise ProviderException(f"GCP {action} failed: {type(err).__name__}: {err}{_hint(err)}") from err
    except PublishToPausedOrderingKeyException as err:
        # Another publish with the same ordering key failed a moment ago and has not resumed it yet.
        raise ProviderException(f"GCP {action} failed: an earlier message of its ordering key failed") from err
    except requests.RequestException as err:
        raise ProviderException(f"GCP {action} failed: {type(err).__name__}: {err}") from err
    except TimeoutError as err:  # a publish future that the service did not settle in time
        raise ProviderException(f"GCP {action} failed: no answer in time{_unreachable_hint()}") from err
    except auth_errors.GoogleAuthError as err:
        raise ProviderException(f"GCP {action} failed: no credentials ({err}); {credentials_hint()}") from err
