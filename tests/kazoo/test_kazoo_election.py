"""kazoo's own `kazoo.tests.test_election`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_election import *  # noqa: F403
