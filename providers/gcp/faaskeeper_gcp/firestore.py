"""FaaSKeeper's Firestore storages: system storage (nodes, sessions, watches) and user storage.
The implementations live in :mod:`faaskeeper_gcp.firestore_system` and
:mod:`faaskeeper_gcp.firestore_user`."""

from faaskeeper_gcp.firestore_system import FirestoreSystemStorage
from faaskeeper_gcp.firestore_user import FirestoreUserStorage

__all__ = ["FirestoreSystemStorage", "FirestoreUserStorage"]
