"""Have many clients push actuals at once and check that every acknowledged point is stored.

Every client pushes batches of 20 points to the model's push source, each batch on the next
day from 2000-01-01 and each client on KPIs of its own (client ``n`` on KPIs ``37n … 37n+19``),
so no two pushes share a point and the points of the burst are exactly those of that source
dated before 2010: the store must hold as many of them as the answers acknowledged.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from onpace.storage.tables import PointRow


@dataclass(frozen=True)
class Burst:
    """The answers of one burst by status (0: a reset connection), points acknowledged and stored."""

    statuses: Counter[int]
    acknowledged: int
    stored: int


BEFORE = dt.date(2010, 1, 1)


def burst(
    base: str, token: str, engine: Engine, clients: int, seconds: float, kpis: int, source: str = "feed"
) -> Burst:
    """Have ``clients`` clients push batches for ``seconds``; check every acknowledged point is stored."""
    statuses: Counter[int] = Counter()
    with Session(engine) as session:
        # A kept store holds earlier runs' bursts: count only what this one adds.
        already = (
            session.scalar(select(func.count()).where(PointRow.source == source, PointRow.date < BEFORE)) or 0
        )
    # New in every run, so a kept store takes each point again (as a correction).
    value = float(int(time.time()) % 100_000)
    first_refusal: dict[int, str] = {}  # the first answer of each status other than 200
    acknowledged = [0] * clients
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    origin = dt.date(2000, 1, 1)

    def client(n: int) -> None:
        batch = 0
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
            while time.monotonic() < deadline:
                records = [
                    {
                        "metric": f"k{(n * 37 + j) % kpis}",
                        "date": (origin + dt.timedelta(days=batch)).isoformat(),
                        "value": value,
                    }
                    for j in range(20)
                ]
                try:
                    answer = http.post(f"{base}/api/v1/actuals", json={"source": source, "records": records})
                    code, text = answer.status_code, answer.text
                except httpx.TransportError as err:
                    code, text = 0, str(err)  # a reset connection
                with lock:
                    statuses[code] += 1
                    if code != 200:
                        first_refusal.setdefault(code, text[:300])
                if code == 200:
                    body = answer.json()
                    acknowledged[n] += body["added"] + body["corrected"]
                batch += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        stored = (
            session.scalar(select(func.count()).where(PointRow.source == source, PointRow.date < BEFORE)) or 0
        ) - already
    print(
        f"  {clients} clients for {seconds:.0f} s: answers {dict(sorted(statuses.items()))} "
        f"(0 = connection reset), {sum(acknowledged)} points acknowledged (added or corrected), {stored} stored"
        + ("" if stored == sum(acknowledged) else "  <-- MISMATCH")
    )
    for code, text in sorted(first_refusal.items()):
        print(f"  first {code} answer: {text}")
    return Burst(statuses, sum(acknowledged), stored)
