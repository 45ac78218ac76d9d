"""FaaSKeeper's Firestore storages: system storage (nodes, sessions, watches) and user storage.
The implementations live in :mod:`faaskeeper_gcp.storage.system` and
:mod:`faaskeeper_gcp.storage.user`."""

from faaskeeper_gcp.storage.system import FirestoreSystemStorage
from faaskeeper_gcp.storage.user import FirestoreUserStorage

__all__ = ["FirestoreSystemStorage", "FirestoreUserStorage"]
