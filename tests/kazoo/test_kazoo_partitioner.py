"""kazoo's own `kazoo.tests.test_partitioner`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_partitioner import *  # noqa: F403
