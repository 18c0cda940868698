"""Push actuals from many clients at once through real ``onpace serve`` and worker processes.

On a new store (a temporary SQLite file, or a schema of its own on the PostgreSQL server named
by ``--url``, dropped at the end) it loads the enterprise-scale model of ``bench/loop_scale.py``
(``--kpis`` KPIs, default 10,000), starts ``onpace serve --workers 2`` and one ``onpace worker``
(each push enqueues an evaluation, so the worker writes while the clients push), then has
``--clients`` clients (default 50) push batches of 20 points for ``--seconds`` seconds (default
30). It prints the answers by status (0: a connection reset) and checks that every point an
answer acknowledged is in the store. The last line is exactly

``concurrent_push: <store>, <clients> clients, <s> s, <n> answers, 5xx <n>, acknowledged <n>, stored <n>``

    python bench/concurrent_push.py [--kpis 10000] [--clients 50] [--seconds 30] [--url postgresql://…] [--port 8000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

from latency import SECRET, fresh_store, running_receiver
from loop_scale import free_port, model_text, process, run_child, wait_ready
from push_burst import burst
from sqlalchemy.orm import Session

from onpace.services.tokens import create_token
from onpace.services.users import add_user


def main(argv: list[str] | None = None) -> None:
    """Run the burst and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--port", type=int, default=0, help="first port to try for the server (default: any)")
    args = parser.parse_args(argv)
    if args.kpis < 37 * args.clients:
        parser.error(
            f"--kpis must be at least {37 * args.clients} so that no two clients push the same point"
        )
    today = dt.datetime.now(dt.UTC).date()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="onpace-burst-")))
        engine = stack.enter_context(fresh_store(args.url, tmp))
        receiver = stack.enter_context(running_receiver())
        env = {
            **os.environ,
            "ONPACE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "ONPACE_SECRET_KEY": "burst-bench-key-0123456789abcdef",
            "ONPACE_OUTBOUND_ALLOW": "127.0.0.1",
            "ONPACE_LOG_LEVEL": "WARNING",
            # The model's webhook reads these (older models of the bench name them without the prefix).
            "ONPACE_ROUTE_BENCH_HOOK_URL": receiver.url,
            "ONPACE_ROUTE_BENCH_SECRET": SECRET,
            "BENCH_HOOK_URL": receiver.url,
            "BENCH_SECRET": SECRET,
        }
        model = tmp / "onpace.yaml"
        model.write_text(model_text(args.kpis, today), encoding="utf-8")
        run_child(["-m", "onpace", "load", str(model)], env)
        with Session(engine) as session, session.begin():
            now = dt.datetime.now(dt.UTC)
            add_user(session, email="feed@burst.example", name="Feed", role="editor", password=None, now=now)
            token = create_token(
                session, email="feed@burst.example", name="bench", scope="write", now=now
            ).token
        port = free_port(args.port)
        base = f"http://127.0.0.1:{port}"
        stack.enter_context(process(["serve", "--port", str(port), "--workers", "2"], env, tmp / "serve.log"))
        wait_ready(base)
        stack.enter_context(process(["worker"], env, tmp / "worker.log"))
        print(f"store: {engine.dialect.name}; {args.kpis} KPIs; machine: {os.cpu_count()} CPUs (shared)")
        result = burst(base, token, engine, args.clients, args.seconds, args.kpis)
        errors = sum(n for code, n in result.statuses.items() if code >= 500)
        for line in (tmp / "serve.log").read_text(errors="replace").splitlines():
            if "Traceback" in line or "ERROR" in line:
                print(f"  serve.log: {line}")
    print(
        f"concurrent_push: {engine.dialect.name}, {args.clients} clients, {args.seconds:.0f} s, "
        f"{result.statuses.total()} answers, 5xx {errors}, acknowledged {result.acknowledged}, "
        f"stored {result.stored}"
    )


if __name__ == "__main__":
    main()
