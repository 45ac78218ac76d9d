"""The provider's one boundary where Google Cloud SDK errors (and those of HTTP calls between the
functions) become FaaSKeeper's exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from google.api_core import exceptions as google_errors
from google.auth import exceptions as auth_errors
from google.cloud.pubsub_v1.publisher.exceptions import PublishToPausedOrderingKeyException

from faaskeeper.exceptions import ProviderException

#: Raised by conditional writes whose condition failed: the caller re-reads and decides again.
Conflict = (google_errors.FailedPrecondition, google_errors.AlreadyExists, google_errors.Aborted)
NotFound = google_errors.NotFound
#: A call's own deadline passed (a pull that found nothing in time).
DeadlineExceeded = google_errors.DeadlineExceeded
#: Worth trying again at once: contention (the emulator aborts even plain writes) and hiccups.
Transient = (google_errors.Aborted, google_errors.ServiceUnavailable, google_errors.DeadlineExceeded)


@contextmanager
def gcp_errors(action: str) -> Iterator[None]:
    """Translate any Google Cloud SDK error raised inside into ProviderException naming ``action``."""
    try:
        yield
    except google_errors.GoogleAPIError as err:
        raise ProviderException(f"GCP {action} failed: {type(err).__name__}: {err}") from err
    except PublishToPausedOrderingKeyException as err:
        # Another publish with the same ordering key failed a moment ago and has not resumed it yet.
        raise ProviderException(f"GCP {action} failed: an earlier message of its ordering key failed") from err
    except requests.RequestException as err:
        raise ProviderException(f"GCP {action} failed: {type(err).__name__}: {err}") from err
    except auth_errors.GoogleAuthError as err:
        raise ProviderException(
            f"GCP {action} failed: no credentials ({err}); for a project run `gcloud auth application-default "
            "login` (or set GOOGLE_APPLICATION_CREDENTIALS); for the emulators set FIRESTORE_EMULATOR_HOST and "
            "PUBSUB_EMULATOR_HOST"
        ) from err
