"""kazoo's own `kazoo.tests.test_barrier`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_barrier import *  # noqa: F403
