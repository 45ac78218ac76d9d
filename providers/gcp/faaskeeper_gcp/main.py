"""The functions' source file, as Cloud Functions and functions-framework load it
(``--source main.py --target writer``).

It stays at the package root: the source archive puts it at the archive's root, where Cloud
Functions looks for ``main.py``, and the local host loads the same file. The entry points
themselves are :mod:`faaskeeper_gcp.functions.handlers`."""

from faaskeeper_gcp.functions.handlers import distributor, heartbeat, watch, writer

__all__ = ["distributor", "heartbeat", "watch", "writer"]
