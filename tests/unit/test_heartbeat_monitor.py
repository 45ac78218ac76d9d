"""The client's heartbeat monitor: SUSPENDED when the service's pings stop arriving, not when this
process itself stopped running for a while."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import faaskeeper.client.client as client_module
from faaskeeper.client.client import FaaSKeeperClient, SessionState
from faaskeeper.config import Config


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


class _Waits:
    """A monitor_stop whose waits take the times given, then stop the monitor."""

    def __init__(self, clock: _Clock, durations: list[float]) -> None:
        self._clock = clock
        self._durations = durations

    def wait(self, timeout: float) -> bool:
        if not self._durations:
            return True
        self._clock.now += self._durations.pop(0)
        return False


def _monitor(
    monkeypatch: pytest.MonkeyPatch, durations: list[float], pings: dict[int, float], session_timeout: float = 30
) -> list[SessionState]:
    """Run the monitor over waits of ``durations`` seconds; ``pings[i]`` is a ping arriving during
    wait ``i`` (as seconds after that wait began). The states it reported."""
    clock = _Clock()
    monkeypatch.setattr(client_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    config = Config(cloud_provider="local", deployment_name="monitor")
    config.heartbeat_frequency = 1.0
    config.session_timeout = session_timeout
    client = FaaSKeeperClient(config)
    states: list[SessionState] = []
    client.add_listener(states.append)
    client._state = SessionState.CONNECTED
    session = SimpleNamespace(last_ping=clock.now, monitor_stop=None)
    waits = _Waits(clock, list(durations))

    class _Stop:
        def wait(self, timeout: float) -> bool:
            index = len(durations) - len(waits._durations)
            began = clock.now
            done = waits.wait(timeout)
            if index in pings:
                session.last_ping = began + pings[index]
            return done

    session.monitor_stop = _Stop()
    client._watch_heartbeats(session)  # type: ignore[arg-type]
    return states


def test_pings_that_stop_arriving_suspend_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    # A wait of 0.5 s each, pings for the first two seconds, then none.
    assert _monitor(monkeypatch, [0.5] * 12, {i: 0.5 for i in range(4)}) == [SessionState.SUSPENDED]


def test_pings_that_keep_arriving_keep_it_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _monitor(monkeypatch, [0.5] * 12, {i: 0.5 for i in range(12)}) == []


def test_a_stall_of_this_process_is_not_the_services_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    # The process does not run for 4 s (a long collection); the ping that arrived meanwhile is
    # read soon after, and pings go on: the session stays CONNECTED.
    durations = [0.5, 0.5, 4.0, 0.5, 0.5, 0.5, 0.5]
    pings = {0: 0.5, 1: 0.5, 3: 0.5, 4: 0.5, 5: 0.5, 6: 0.5}
    assert _monitor(monkeypatch, durations, pings) == []


def test_silence_that_goes_on_after_a_stall_still_suspends(monkeypatch: pytest.MonkeyPatch) -> None:
    durations = [0.5, 0.5, 4.0] + [0.5] * 8
    assert _monitor(monkeypatch, durations, {0: 0.5, 1: 0.5}) == [SessionState.SUSPENDED]


def test_it_suspends_before_the_service_may_expire_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    # A heartbeat a second, pings read every quarter second, then none for 2.25 s. With a long
    # timeout that is one late ping; with a 3 s timeout the service may expire a session 2 s
    # after a ping whose answer it did not get, so the client must be SUSPENDED by then.
    durations = [0.25] * 16
    pings = {i: 0.25 for i in (0, 1, 2, 3, 13, 14, 15)}
    assert _monitor(monkeypatch, durations, pings, session_timeout=30) == []
    assert _monitor(monkeypatch, durations, pings, session_timeout=3) == [SessionState.SUSPENDED]
