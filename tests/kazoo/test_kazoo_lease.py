"""kazoo's own `kazoo.tests.test_lease`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_lease import *  # noqa: F403
