"""Heartbeat and session timeouts of the conformance deployments in this directory.

A session must not expire because a loaded machine answered its heartbeats late: the tests run
with a session timeout many heartbeats long, except those that wait for a session to time out
(``fk_expiry_config``), which wait as long as their short timeouts say, and longer on a slow
machine, but never expect an expiry by a deadline.
"""

TIMING = {"heartbeat-frequency": 0.5, "session-timeout": 10.0}
EXPIRY_TIMING = {"heartbeat-frequency": 0.2, "session-timeout": 0.6}
