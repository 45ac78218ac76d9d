"""kazoo's own `kazoo.tests.test_counter`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_counter import *  # noqa: F403
