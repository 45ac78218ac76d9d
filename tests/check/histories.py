"""Hand-made histories for the checker's tests."""

from __future__ import annotations

import random
from typing import Any

from faaskeeper.check.history import Call, History


def call(
    session: str,
    index: int,
    op: str,
    path: str,
    invoke: float,
    complete: float | None,
    *,
    ok: bool | None = True,
    error: str | None = None,
    result: Any = None,
    **args: Any,
) -> Call:
    return Call(
        session=session,
        index=index,
        op=op,
        path=path,
        invoke=invoke,
        complete=complete,
        completed=index if complete is not None else None,
        ok=ok if complete is not None else None,
        error=error,
        result=result,
        **args,
    )


def node(data: str, version: int, mzxid: int, czxid: int = 1, owner: str | None = None) -> dict[str, Any]:
    return {"data": data, "version": version, "czxid": czxid, "mzxid": mzxid, "owner": owner}


def concurrent_register(ops: int, sessions: int, seed: int) -> History:
    """A valid history of ``ops`` calls on one node from ``sessions`` overlapping sessions: each
    call takes effect at an instant inside its interval, against a real sequential node."""
    rng = random.Random(seed)
    version, data, zxid = 0, "00", 1
    history = History(calls=[call("s0", 0, "create", "/n", 0.0, 0.5, data="00", result={"path": "/n", "czxid": 1})])
    clocks = [1.0] * sessions
    counters = [0] * sessions
    events = []
    for _ in range(ops):
        s = rng.randrange(sessions)
        invoke = clocks[s] + rng.random()
        effect = invoke + rng.random()
        complete = effect + rng.random()
        clocks[s] = complete
        counters[s] += 1
        events.append((effect, s, counters[s], invoke, complete))
    for effect, s, index, invoke, complete in sorted(events):
        session = f"s{s + 1}"
        choice = rng.random()
        if choice < 0.4:
            zxid += 1
            version += 1
            data = f"{zxid:02x}"
            result = {"version": version, "mzxid": zxid}
            history.calls.append(call(session, index, "set", "/n", invoke, complete, data=data, result=result))
        elif choice < 0.7:
            expected = version if rng.random() < 0.5 else version + 7
            if expected == version:
                zxid += 1
                version += 1
                data = f"{zxid:02x}"
                result = {"version": version, "mzxid": zxid}
                history.calls.append(
                    call(session, index, "set", "/n", invoke, complete, data=data, version=expected, result=result)
                )
            else:
                history.calls.append(
                    call(session, index, "set", "/n", invoke, complete, ok=False, error="BadVersion", version=expected)
                )
        else:
            history.calls.append(call(session, index, "get", "/n", invoke, complete, result=node(data, version, zxid)))
        del effect
    return history
