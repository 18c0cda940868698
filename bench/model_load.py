"""Time ``onpace load`` of the enterprise-scale model in fresh processes, on SQLite or PostgreSQL.

The model is the one ``bench/loop_scale.py`` loads: ``--kpis`` KPIs (default 10,000), one KR per
five KPIs, one objective per four KRs, units, people, a cycle, a push source and a webhook. Each
run loads it into a new, migrated store (a temporary SQLite file, or a schema of its own on the
PostgreSQL server named by ``--url``, dropped at the end) in a fresh ``python -m onpace load``
process, then loads the same file again (nothing changes: the steady re-load). Prints each run
and the medians; the last line is exactly

``model_load: <kpis> kpis, <store>, load <s> s (CPU <s> s), reload <s> s, peak RSS <MB> MB``

(medians; the CPU time is the load process's own, which a busy machine does not inflate).

    python bench/model_load.py [--kpis 10000] [--runs 3] [--url postgresql://…]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latency import fresh_store
from loop_scale import model_text


def run_load(model: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run ``onpace load MODEL`` in a fresh process; return (wall s, CPU s, peak RSS MB, its output)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "onpace", "load", str(model)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out = proc.stdout.read().decode() if proc.stdout else ""
    # wait4 gives this child's own resource use: CPU time says more than wall time on a busy machine.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"onpace load failed:\n{out[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.strip()


def main(argv: list[str] | None = None) -> None:
    """Run the loads and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    today = dt.datetime.now(dt.UTC).date()
    loads: list[float] = []
    reloads: list[float] = []
    cpu: list[float] = []
    peaks: list[float] = []
    with tempfile.TemporaryDirectory(prefix="onpace-load-") as folder:
        tmp = Path(folder)
        model = tmp / "onpace.yaml"
        model.write_text(model_text(args.kpis, today), encoding="utf-8")
        store = "sqlite"
        for run in range(args.runs):
            (tmp / "latency.db").unlink(missing_ok=True)
            with fresh_store(args.url, tmp) as engine:
                store = engine.dialect.name
                env = {
                    **os.environ,
                    "ONPACE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                    "ONPACE_LOG_LEVEL": "WARNING",
                }
                first, first_cpu, rss, out = run_load(model, env)
                again, again_cpu, _, out_again = run_load(model, env)
            loads.append(first)
            reloads.append(again)
            cpu.append(first_cpu)
            peaks.append(rss)
            print(
                f"run {run + 1}: load {first:.2f} s (CPU {first_cpu:.2f} s; {out}); "
                f"reload {again:.2f} s (CPU {again_cpu:.2f} s; {out_again}); peak RSS {rss:.0f} MB"
            )
    print(f"load average after the runs: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"model_load: {args.kpis} kpis, {store}, load {statistics.median(loads):.2f} s "
        f"(CPU {statistics.median(cpu):.2f} s), reload {statistics.median(reloads):.2f} s, "
        f"peak RSS {max(peaks):.0f} MB"
    )


if __name__ == "__main__":
    main()
