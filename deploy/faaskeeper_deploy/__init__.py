"""The ``fk`` command: deploy, remove and inspect FaaSKeeper deployments."""
