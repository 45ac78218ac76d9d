"""kazoo's own `kazoo.tests.test_lock`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_lock import *  # noqa: F403
