#!/usr/bin/env python3
"""Baseline for `mailroom-queue-bench queue`: PgQueuer claiming and completing no-op jobs.

Usage: pgqueuer_bench.py DSN JOBS CONSUMERS
Installs PgQueuer's schema into DSN's database (which must be empty and used for nothing else),
enqueues JOBS no-op jobs in batches, then runs CONSUMERS queue-manager processes (PgQueuer's
defaults: batch 10, continuous dequeue, drain mode so each exits when the queue is empty) and
prints one line of JSON: {"jobs": N, "consumers": C, "seconds": S, "jobs_per_second": R}.
"""
import asyncio
import json
import multiprocessing
import sys
import time

import asyncpg
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.types import QueueExecutionMode


async def prepare(dsn: str, jobs: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        queries = Queries(AsyncpgDriver(conn))
        await queries.install()
        batch = 5000
        for start in range(0, jobs, batch):
            n = min(batch, jobs - start)
            await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
    finally:
        await conn.close()


async def consume(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job) -> None:  # the job itself does nothing: the queue is what is measured
        return None

    await qm.run(mode=QueueExecutionMode.drain)
    await conn.close()


def consumer_process(dsn: str) -> None:
    asyncio.run(consume(dsn))


async def remaining(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM pgqueuer")
    finally:
        await conn.close()


def main() -> None:
    dsn, jobs, consumers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(prepare(dsn, jobs))
    started = time.monotonic()
    procs = [multiprocessing.Process(target=consumer_process, args=(dsn,)) for _ in range(consumers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    seconds = time.monotonic() - started
    left = asyncio.run(remaining(dsn))
    done = jobs - left
    print(json.dumps({"jobs": done, "left": left, "consumers": consumers, "seconds": round(seconds, 3),
                      "jobs_per_second": round(done / seconds, 1)}))


if __name__ == "__main__":
    main()
