"""Where the CPU went during a load-test run: gunicorn, PostgreSQL, the generator, the rest."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}, {os.cpu_count()} CPUs"


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds all CPUs spent busy (not idle, not waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Where the machine's CPU went during the run: gunicorn (master and workers), the PostgreSQL
    backends serving it, this load generator, and everything else (other work on a shared machine).
    Sampled twice a second, so a database connection closed during the run still counts."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid, self.database = server_pid, database
        self.baseline: dict[tuple[str, int], float] = {}
        self.seen: dict[tuple[str, int], float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="cpu-meter", daemon=True)

    def _sample(self) -> dict[tuple[str, int], float]:
        import psycopg

        children = Path(f"/proc/{self.server_pid}/task/{self.server_pid}/children")
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
        with psycopg.connect(self.database, autocommit=True) as conn:
            backends = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ]
        found = {("gunicorn", p): _proc_cpu(p) for p in [self.server_pid, *workers]}
        found |= {("postgres", p): _proc_cpu(p) for p in backends}
        return {key: value for key, value in found.items() if value}

    def _loop(self) -> None:
        while not self.stopped.wait(0.5):
            self.seen.update(self._sample())

    def start(self) -> None:
        self.baseline = self._sample()
        self.started = (time.monotonic(), _machine_busy(), sum(os.times()[:2]))
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.seen.update(self._sample())
        self.ended = (time.monotonic(), _machine_busy(), sum(os.times()[:2]))

    def summary(self, requests: int) -> str:
        used = {"gunicorn": 0.0, "postgres": 0.0}
        for (kind, pid), value in self.seen.items():
            used[kind] += value - self.baseline.get((kind, pid), 0.0)
        wall, busy, own = (end - start for start, end in zip(self.started, self.ended, strict=True))
        others = busy - used["gunicorn"] - used["postgres"] - own
        per = 1000 / max(requests, 1)
        return (
            f"CPU seconds of {wall * (os.cpu_count() or 1):.0f} available: gunicorn {used['gunicorn']:.0f} "
            f"({used['gunicorn'] * per:.1f} ms a request), PostgreSQL {used['postgres']:.0f} "
            f"({used['postgres'] * per:.1f} ms a request), load generator {own:.0f}, "
            f"everything else on the machine {max(others, 0):.0f}"
        )
