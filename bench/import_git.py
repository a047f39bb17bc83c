#!/usr/bin/env python
"""Benchmark: `import_git` of a large real history vs a plain `git log --all --numstat` of it.

Rebuilds ../shared/data/git/<name> (default crewai: 20,222 commits, 4,549 pull refs) into a temporary
bare repository, then in the same run times
  baseline:  git log --all --numstat   (output discarded)
  sextant:   manage.py import_git      (fresh SQLite database, or DATABASE_URL if set)
and prints the ratio (target: <= 3x).  Usage: python bench/import_git.py [flask|crewai] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", nargs="?", default="crewai", choices=["flask", "crewai"])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / f"{args.name}.git"
        print(f"rebuilding {args.name} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "tools" / "rebuild_git_repo.py"),
                str(SHARED / "data" / "git" / f"{args.name}.commits.jsonl.gz"),
                str(repo),
                "--bare",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        commits = subprocess.run(
            ["git", "-C", str(repo), "rev-list", "--all", "--count"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        baseline, sextant = [], []
        for i in range(args.repeat):
            baseline.append(timed(["git", "-C", str(repo), "log", "--all", "--numstat"]))
            env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
            env["SEXTANT_VAR_DIR"] = str(Path(tmp) / f"var{i}")
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, env=env, cwd=ROOT)
            sextant.append(timed([sys.executable, "manage.py", "import_git", str(repo), "-v0"], env=env))
        b, s = statistics.median(baseline), statistics.median(sextant)
        print(f"history: {args.name}, {commits} commits")
        runs = {
            name: ", ".join(f"{x:.1f}" for x in values) for name, values in (("b", baseline), ("s", sextant))
        }
        print(f"baseline git log --all --numstat: {b:.1f} s (runs: {runs['b']})")
        print(f"sextant import_git (fresh db):     {s:.1f} s (runs: {runs['s']})")
        print(f"ratio import/baseline: {s / b:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
