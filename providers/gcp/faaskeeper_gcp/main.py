"""The functions' source file, as Cloud Functions and functions-framework load it
(``--source main.py --target writer``)."""

from faaskeeper_gcp.handlers import distributor, heartbeat, watch, writer

__all__ = ["distributor", "heartbeat", "watch", "writer"]
