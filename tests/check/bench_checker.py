"""How long the checker takes on valid and broken histories of one node, by size:
``.venv/bin/python -m tests.check.bench_checker`` (not part of the test run)."""

from __future__ import annotations

import time

from faaskeeper.check.checker import check

from .histories import concurrent_register

SIZES = ((200, 4), (400, 5), (800, 6), (1600, 8))


def main() -> None:
    print("ops  sessions  valid ms  states  | one stale read ms  states  violations")
    for ops, sessions in SIZES:
        history = concurrent_register(ops, sessions, 1)
        started = time.perf_counter()
        valid = check(history, linearizable_reads=True)
        valid_ms = (time.perf_counter() - started) * 1000
        assert valid.ok
        reads = [c for c in history.calls if c.op == "get" and c.result["version"] > 2]
        reads[-1].result = {**reads[-1].result, "version": 1}
        started = time.perf_counter()
        broken = check(history, linearizable_reads=True)
        broken_ms = (time.perf_counter() - started) * 1000
        print(
            f"{ops:4d}  {sessions:8d}  {valid_ms:8.1f}  {valid.explored:6d}  | {broken_ms:17.1f}  "
            f"{broken.explored:6d}  {len(broken.violations):10d}"
        )


if __name__ == "__main__":
    main()
