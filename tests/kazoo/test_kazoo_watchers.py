"""kazoo's own `kazoo.tests.test_watchers`, unchanged, on faaskeeper.kazoo (see faaskeeper.kazoo.testing)."""

from kazoo.tests.test_watchers import *  # noqa: F403
