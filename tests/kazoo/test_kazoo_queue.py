"""kazoo's own `kazoo.tests.test_queue`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_queue import *  # noqa: F403
