"""An in-memory FaaSKeeper provider: every deployment lives in a dict of this process."""
