"""The soak: rounds of client processes running random calls on a fresh local deployment with
faults on, each round's history checked; prints what it checked and every violation found.

``python -m faaskeeper.check.soak --seconds 300`` (or ``fk soak``). A round deploys, starts
``workers`` processes (:mod:`faaskeeper.check.worker`), waits for them, lets the sessions of
killed ones expire, records the nodes left, and checks the history.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from faaskeeper.api.queue import PollingQueue
from faaskeeper.api.storage import SessionStatus
from faaskeeper.check.broken import BREAKS
from faaskeeper.check.checker import Report, check
from faaskeeper.check.history import Call, History, SessionEnd
from faaskeeper.check.worker import KILLED, MODES
from faaskeeper.check.workload import prepare, snapshot
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider

#: Seconds a worker process may run before the round gives up on it.
WORKER_DEADLINE = 900


@dataclass(frozen=True)
class SoakOptions:
    workers: int = 4
    calls: int = 150
    #: Probability that a function fails at each fault point it reaches (its message is redelivered).
    faults: float = 0.005
    #: Probability that a worker process dies (exit 137) at each fault point it reaches.
    kills: float = 0.0005
    seed: int = 0
    #: Nodes the calls choose from (fewer: more contention).
    nodes: int = 3
    #: How a failing function fails (see :mod:`faaskeeper.check.worker`): "timeout" or "error".
    mode: str = "timeout"
    #: Seconds a received message stays hidden. Like SQS's, which must be at least the function's
    #: timeout, it outlasts a writer's longest wait for locks (a shorter one lets a redelivery race
    #: a delivery still waiting).
    visibility_timeout: float = 5.0
    #: Seconds a worker's call may take before it is recorded without a response.
    client_timeout: float = 20.0
    #: Probability that a worker process is frozen (SIGSTOP) once, for longer than the session
    #: timeout, so its session expires while it has writes in flight; it then goes on.
    pauses: float = 0.5
    #: Probability that a worker closes its session while another of its threads writes.
    close_writing: float = 0.5


def local_config(directory: Path, name: str, visibility_timeout: float = SoakOptions.visibility_timeout) -> Config:
    return Config.deserialize(
        {
            "cloud-provider": "local",
            "deployment-name": name,
            "heartbeat-frequency": 0.2,
            "session-timeout": 2.0,
            "local": {
                "path": str(directory),
                "lock-max-hold": 1,
                "visibility-timeout": visibility_timeout,
                "max-receives": 30,
            },
        }
    )


def run_round(config: Config, directory: Path, options: SoakOptions, env: dict[str, str] | None = None) -> History:
    """One round's history on the deployment of ``config`` (deployed and empty), whose messages
    stay hidden for ``options.visibility_timeout`` once received."""
    with FaaSKeeperClient(config, timeout=30) as host:
        prepare(host)
        outputs = [directory / f"worker-{i}.jsonl" for i in range(options.workers)]
        seeds = [options.seed * 1000 + i for i in range(options.workers)]
        processes = [
            _spawn(config, out, replace(options, seed=seed), env) for out, seed in zip(outputs, seeds, strict=True)
        ]
        pauser = _Pauser(processes, options, pause=config.effective_session_timeout * 1.5)
        pauser.start()
        try:
            history, lost = _collect(processes, outputs)
        finally:
            pauser.stop()
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        _wait_for_expiry(config, lost)
        history.final = snapshot(host)
    return history


def _collect(processes: list[subprocess.Popen[bytes]], outputs: list[Path]) -> tuple[History, list[str]]:
    """The workers' histories once they exit, and the sessions of those killed."""
    history = History()
    lost: list[str] = []
    for process, out in zip(processes, outputs, strict=True):
        process.wait(timeout=WORKER_DEADLINE)
        if process.returncode not in (0, KILLED):
            stderr = out.with_suffix(".err").read_text()
            raise RuntimeError(f"soak worker failed ({process.returncode}):\n{stderr}")
        part = History.load(out) if out.exists() else History()
        if process.returncode == KILLED and part.calls:
            lost.append(part.calls[0].session)
            part.ends.append(SessionEnd(part.calls[0].session, "lost"))
        history.extend(part)
    return history, lost


def _spawn(config: Config, out: Path, options: SoakOptions, env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "faaskeeper.check.worker",
        json.dumps(config.serialize()),
        str(out),
        json.dumps(asdict(options)),
    ]
    with out.with_suffix(".err").open("w") as stderr:
        return subprocess.Popen(command, env={**os.environ, **(env or {})}, stderr=stderr)


class _Pauser:
    """Freezes some workers once each (SIGSTOP), at a random moment, for ``pause`` seconds: long
    enough for their sessions to expire while they have writes in flight; then they go on
    (SIGCONT), as a process back from a long stall does."""

    def __init__(self, processes: list[subprocess.Popen[bytes]], options: SoakOptions, pause: float) -> None:
        rng = random.Random(options.seed)
        self._plan = [(p, rng.uniform(0.5, 4.0)) for p in processes if rng.random() < options.pauses]
        self._pause = pause
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-pauser", daemon=True)
        self.paused = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.monotonic()
        for process, at in sorted(self._plan, key=lambda plan: plan[1]):
            if self._stopping.wait(max(0.0, started + at - time.monotonic())):
                return
            if process.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGSTOP)
                self.paused += 1
                try:
                    self._stopping.wait(self._pause)
                finally:
                    process.send_signal(signal.SIGCONT)


def _wait_for_expiry(config: Config, sessions: list[str], timeout: float = 60.0) -> None:
    deployment = get_provider(config.cloud_provider).open(config)
    try:
        deadline = time.monotonic() + timeout

        def ending(session_id: str) -> bool:
            record = deployment.system_storage.read_session(session_id)
            return record is not None and record.status != SessionStatus.DRAINED

        while any(ending(s) for s in sessions):
            if time.monotonic() > deadline:
                raise RuntimeError(f"sessions {sessions} of killed workers did not expire within {timeout:g} s")
            time.sleep(0.1)
        queues = [q for q in (deployment.writer_queue, deployment.distributor_queue) if isinstance(q, PollingQueue)]
        while any(q.depth() for q in queues):
            if time.monotonic() > deadline:
                raise RuntimeError("the queues did not drain after the workers ended")
            time.sleep(0.05)
    finally:
        deployment.close()


#: The kinds of transactions the soak counts, by what their operations do.
MULTI_KINDS = ("set-check", "create-delete", "sequential")


def multi_kind(call: Call) -> str:
    """A transaction's kind: it creates sequential nodes, else it creates or deletes, else it sets and checks."""
    parts = call.parts()
    if any(p.op == "create" and p.sequential for p in parts):
        return "sequential"
    return "create-delete" if any(p.op in ("create", "delete") for p in parts) else "set-check"


def count_multis(history: History) -> dict[str, Counter[str]]:
    """Per kind, how many transactions committed, failed (an op's error) or went unanswered."""
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in MULTI_KINDS}
    for call in history.calls:
        if call.op == "multi":
            outcome = "unanswered" if not call.known else "committed" if call.ok else "failed"
            counts[multi_kind(call)][outcome] += 1
    return counts


def describe_multis(counts: dict[str, Counter[str]]) -> str:
    return ", ".join(
        f"{kind} {c['committed']} committed/{c['failed']} failed"
        + (f"/{c['unanswered']} unanswered" if c["unanswered"] else "")
        for kind, c in counts.items()
    )


def soak(
    seconds: float,
    options: SoakOptions,
    env: dict[str, str] | None = None,
    out: Callable[[str], None] = print,
    keep: Path | None = None,
) -> list[Report]:
    """Rounds until ``seconds`` passed (at least one); each round's report. The history of a round
    with violations is saved in ``keep``, if given."""
    provider = get_provider("local")
    reports: list[Report] = []
    multis: dict[str, Counter[str]] = {kind: Counter() for kind in MULTI_KINDS}
    expiries = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fk-soak-") as scratch:
        while not reports or time.monotonic() - started < seconds:
            number = len(reports)
            directory = Path(scratch) / f"round-{number}"
            directory.mkdir()
            config = provider.deploy(local_config(directory, f"soak-{number}", options.visibility_timeout), clean=True)
            round_options = replace(options, seed=options.seed + number)
            history = run_round(config, directory, round_options, env)
            provider.remove(config)
            report = check(history)
            reports.append(report)
            unanswered = sum(1 for c in history.calls if not c.known)
            lost = sum(1 for e in history.ends if e.how == "lost")
            expired = sum(1 for e in history.ends if e.how == "expired")
            expiries += expired
            counted = count_multis(history)
            for kind, outcomes in counted.items():
                multis[kind].update(outcomes)
            out(
                f"round {number + 1}: {report.sessions} sessions ({lost} killed or unanswered at close, "
                f"{expired} expired while running), {report.operations} operations "
                f"({unanswered} unanswered), {history.faults} faults injected, {report.nodes} nodes searched, "
                f"{len(report.violations)} violations; transactions: {describe_multis(counted)}"
            )
            for violation in report.violations[:5]:
                out(f"  {violation.property}: {violation.message}")
            if keep is not None and report.violations:
                keep.mkdir(parents=True, exist_ok=True)
                saved = keep / f"round-{number + 1}.jsonl"
                history.save(saved)
                out(f"  history saved in {saved}")
    total_ops = sum(r.operations for r in reports)
    total_sessions = sum(r.sessions for r in reports)
    total_violations = sum(len(r.violations) for r in reports)
    by_property: dict[str, int] = {}
    for report in reports:
        for prop, count in report.by_property().items():
            by_property[prop] = by_property.get(prop, 0) + count
    inconclusive = sum(len(r.inconclusive) for r in reports)
    detail = f" ({', '.join(f'{p}: {n}' for p, n in sorted(by_property.items()))})" if by_property else ""
    out(
        f"checked {len(reports)} histories, {total_sessions} sessions ({expiries} expired while running), "
        f"{total_ops} operations in {time.monotonic() - started:.0f} s: "
        f"{total_violations} violations{detail}, {inconclusive} inconclusive searches; "
        f"transactions: {describe_multis(multis)}"
    )
    return reports


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=300.0, help="run rounds for this long (default 300)")
    parser.add_argument("--workers", type=int, default=SoakOptions.workers, help="client processes per round")
    parser.add_argument("--calls", type=int, default=SoakOptions.calls, help="random calls per client process")
    parser.add_argument("--faults", type=float, default=SoakOptions.faults, help="failure probability per fault point")
    parser.add_argument("--kills", type=float, default=SoakOptions.kills, help="process-kill probability per point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=SoakOptions.nodes, help="nodes the calls choose from")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default=SoakOptions.mode,
        help="a failing function hangs past its visibility timeout (timeout) or fails at once (error)",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=float,
        default=SoakOptions.visibility_timeout,
        help="seconds a received message stays hidden (default %(default)s)",
    )
    parser.add_argument(
        "--client-timeout",
        type=float,
        default=SoakOptions.client_timeout,
        help="seconds a call may take before it is recorded without a response (default %(default)s)",
    )
    parser.add_argument(
        "--pauses",
        type=float,
        default=SoakOptions.pauses,
        help="probability that a worker is frozen past its session timeout once (default %(default)s)",
    )
    parser.add_argument(
        "--close-writing",
        type=float,
        default=SoakOptions.close_writing,
        help="probability that a worker closes its session while writing (default %(default)s)",
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="save the histories with violations in DIR")
    parser.add_argument("--broken", choices=BREAKS, help="run a deliberately broken writer")


def run(args: argparse.Namespace) -> int:
    options = SoakOptions(
        args.workers,
        args.calls,
        args.faults,
        args.kills,
        args.seed,
        args.nodes,
        args.mode,
        args.visibility_timeout,
        args.client_timeout,
        args.pauses,
        args.close_writing,
    )
    env = {"FK_CHECK_BROKEN": args.broken} if args.broken else None
    logger = logging.getLogger("faaskeeper")
    level = logger.level
    if not getattr(args, "debug", False):
        # Functions warn of clients gone away; in a soak that is every killed or closed session.
        logger.setLevel(logging.ERROR)
    try:
        reports = soak(args.seconds, options, env, keep=args.keep)
    finally:
        logger.setLevel(level)
    return 0 if all(r.ok for r in reports) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faaskeeper.check.soak", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
