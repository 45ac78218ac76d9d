"""kazoo's own `kazoo.tests.test_party`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_party import *  # noqa: F403
