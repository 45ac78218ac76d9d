"""FaaSKeeper: ZooKeeper's data model and guarantees built from serverless parts."""

__version__ = "0.1.0"
