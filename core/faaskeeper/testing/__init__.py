"""The FaaSKeeper conformance suite: the tests every provider runs against its own implementation.

Install it with ``pip install faaskeeper[testing]`` (pytest and what the suites use). A provider's
test directory needs two small files. ``conftest.py`` enables the deployment fixtures of
:mod:`faaskeeper.testing.pytest_plugin` (``deploy``, ``deployment_name``) and supplies two fixtures
(a third is optional):

.. code-block:: python

    import pytest

    from faaskeeper.plugins.manager import get_provider

    pytest_plugins = ["faaskeeper.testing.pytest_plugin"]

    @pytest.fixture
    def provider():
        return get_provider("mycloud")  # found through your entry point, as users find it

    def mycloud_config(name, **timing):
        return {"cloud-provider": "mycloud", "deployment-name": name, "mycloud": {...}, **timing}

    @pytest.fixture
    def fk_config(provider, deploy, deployment_name):
        # A fresh, deployed, empty deployment for each test, removed after it. No session
        # expires because a loaded machine answered a heartbeat late.
        timing = {"heartbeat-frequency": 0.5, "session-timeout": 10}
        return deploy(provider, mycloud_config(deployment_name, **timing))

    @pytest.fixture
    def fk_expiry_config(provider, deploy, deployment_name):
        # Optional: the tests that wait for a session to time out wait as long as these say.
        timing = {"heartbeat-frequency": 0.2, "session-timeout": 0.6}
        return deploy(provider, mycloud_config(deployment_name, **timing))

and a test module collects the suites:

.. code-block:: python

    from faaskeeper.testing import ConformanceSuite

    class TestMyCloud(ConformanceSuite):
        pass

or picks some: ``class TestMyCloud(SystemStorageSuite, UserStorageSuite, ClientSuite): pass``. The
suites are mixins without a ``Test`` prefix, so pytest collects them only through your class:

* interfaces, called directly: ``DeploymentSuite`` (deploy, open, status, remove),
  ``SystemStorageSuite`` (= ``SystemNodeSuite`` + ``SystemSessionSuite``: locks, commits, pending
  transactions, sessions, watches), ``UserStorageSuite``, ``PollingQueueSuite``, ``ChannelSuite``;
* the whole protocol through :class:`~faaskeeper.client.FaaSKeeperClient`: ``ClientSuite``
  (operations and errors), ``TransactionSuite`` (transactions, sync, ensure_path),
  ``ConsistencySuite`` (ordering, linearizability, read-your-writes),
  ``SessionSuite`` (ephemeral nodes, expiry by heartbeats), ``WatchSuite``;
* failures: ``FaultSuite`` (functions dying mid-write, duplicate deliveries, forged and malformed
  messages), ``FaultPointSuite`` (a crash at every fault point of every function, every message
  delivered twice with groups interleaved), ``TransactionFaultSuite`` (a transaction of 50
  operations under the same), ``ProcessSuite`` (several OS processes, kill -9).

What the suites use:

* ``provider``: the :class:`~faaskeeper.api.provider.Provider`; its ``capabilities`` decide which tests
  run. Tests needing a :class:`~faaskeeper.api.provider.Capability` the provider does not declare are
  skipped (never by provider name): ``POLLING_QUEUES`` for the queue tests and the fault tests (they
  run the core's functions by hand over your queues; where your queues are not PollingQueues, your
  test class may supply polling views of them and your functions around the core's by overriding
  ``function_triggers``, :class:`~faaskeeper.testing.support.FunctionTriggers`), ``MULTI_PROCESS``
  and ``DURABLE`` for the tests with several OS processes. Mark tests of your own the same way
  with :func:`requires`.
* ``fk_config``: the :class:`~faaskeeper.config.Config` clients load; its ``cloud-provider`` must be
  ``provider.name``. Clients find the provider through the installed entry points, as users do.
* ``fk_expiry_config`` (optional): a config like ``fk_config`` for the tests marked
  :func:`on_expiry_config`, which wait for sessions to expire or for a closed session's leases to
  run out, as long as its ``session-timeout`` says: give it short timeouts and ``fk_config`` long
  ones. Without it they run on ``fk_config``. A test runs on one of the two, never both.
* Everything else (``deployment = provider.open(fk_config)``, ``system_storage``, ``user_storage``,
  ``writer_queue``, ``distributor_queue``, ``channel``, ``listen``, ``client``, ``client_factory``)
  is derived by fixtures on the suite classes. Being class fixtures, they take precedence over a
  conftest fixture of the same name; override one in your test class if you must.
* Tunables are class attributes of your test class: ``client_timeout`` (seconds per client
  operation, default 10) and ``settle_timeout`` (seconds to wait for deliveries, default 10).

A known failure of your provider can be marked in your class by overriding the test, e.g.
``@pytest.mark.xfail(strict=True, reason=...)`` on a method calling ``super()``, so the mark
must go when the bug is fixed.

The suite is not a pytest plugin and registers nothing: importing it from your tests is all it takes,
so it never affects other projects' test runs; the deployment fixtures are there only where a
``pytest_plugins`` line asks for them.
"""

import pytest

# Assertions in the suite explain their failures only if pytest rewrites them, which it does for
# modules registered before they are first imported.
pytest.register_assert_rewrite(
    "faaskeeper.testing.channel",
    "faaskeeper.testing.client",
    "faaskeeper.testing.consistency",
    "faaskeeper.testing.deployment",
    "faaskeeper.testing.fault_points",
    "faaskeeper.testing.faults",
    "faaskeeper.testing.fixtures",
    "faaskeeper.testing.processes",
    "faaskeeper.testing.pytest_plugin",
    "faaskeeper.testing.queue",
    "faaskeeper.testing.sessions",
    "faaskeeper.testing.support",
    "faaskeeper.testing.system_sessions",
    "faaskeeper.testing.system_storage",
    "faaskeeper.testing.transaction_faults",
    "faaskeeper.testing.transactions",
    "faaskeeper.testing.user_storage",
    "faaskeeper.testing.watches",
)

from faaskeeper.testing.channel import ChannelSuite  # noqa: E402
from faaskeeper.testing.client import ClientSuite  # noqa: E402
from faaskeeper.testing.consistency import ConsistencySuite  # noqa: E402
from faaskeeper.testing.deployment import DeploymentSuite  # noqa: E402
from faaskeeper.testing.fault_points import FaultPointSuite  # noqa: E402
from faaskeeper.testing.faults import FaultSuite  # noqa: E402
from faaskeeper.testing.fixtures import (  # noqa: E402
    ConformanceFixtures,
    on_expiry_config,
    required_capabilities,
    requires,
)
from faaskeeper.testing.processes import ProcessSuite  # noqa: E402
from faaskeeper.testing.queue import PollingQueueSuite  # noqa: E402
from faaskeeper.testing.sessions import SessionSuite  # noqa: E402
from faaskeeper.testing.system_sessions import SystemSessionSuite  # noqa: E402
from faaskeeper.testing.system_storage import SystemNodeSuite, SystemStorageSuite  # noqa: E402
from faaskeeper.testing.transaction_faults import TransactionFaultSuite  # noqa: E402
from faaskeeper.testing.transactions import TransactionSuite  # noqa: E402
from faaskeeper.testing.user_storage import UserStorageSuite  # noqa: E402
from faaskeeper.testing.watches import WatchSuite  # noqa: E402


class ConformanceSuite(
    DeploymentSuite,
    SystemStorageSuite,
    UserStorageSuite,
    PollingQueueSuite,
    ChannelSuite,
    ClientSuite,
    TransactionSuite,
    ConsistencySuite,
    SessionSuite,
    WatchSuite,
    FaultSuite,
    FaultPointSuite,
    TransactionFaultSuite,
    ProcessSuite,
):
    """Every suite: what a provider must pass to be a FaaSKeeper provider."""


__all__ = [
    "ChannelSuite",
    "ClientSuite",
    "ConformanceFixtures",
    "ConformanceSuite",
    "ConsistencySuite",
    "DeploymentSuite",
    "FaultPointSuite",
    "FaultSuite",
    "PollingQueueSuite",
    "ProcessSuite",
    "SessionSuite",
    "SystemNodeSuite",
    "SystemSessionSuite",
    "SystemStorageSuite",
    "TransactionFaultSuite",
    "TransactionSuite",
    "UserStorageSuite",
    "WatchSuite",
    "on_expiry_config",
    "required_capabilities",
    "requires",
]
