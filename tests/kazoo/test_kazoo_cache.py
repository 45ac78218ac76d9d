"""kazoo's own `kazoo.tests.test_cache`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_cache import *  # noqa: F403
