"""One retention run in a fresh process with the retention function's environment.

    python -m bench.retention_child '<job as JSON>' <result path>

The job names the arm ("sweep", "reference" or "reconcile") and the moment the run takes as
now. The product's services are built as the function builds them (settings from the
environment, the same clients), except that `now` is injected. Every client that sends a
request is counted (bench.wire_counts), and only the run itself is timed: imports and client
creation (which sends nothing) come before the clock starts. The result is written as JSON to
the result path; stdout carries the function's own logs and metrics.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.reference_cleanup import reference_cleanup
from bench.wire_counts import WireCounter
from ideogram_assets.aws import dynamodb_client, s3_client
from ideogram_assets.config import GenerateSettings
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import RecordStore
from ideogram_assets.wiring import record_store

# The run's deadline: far enough never to cut a benchmark short (moto is slow at scale).
RUN_SECONDS = 6 * 3600.0


def pynamodb_clients(records: RecordStore) -> list[Any]:
    """The botocore clients PynamoDB sends the store's requests with: the model's connection,
    and the store's own connection for transactions. Reading `.client` creates a client, which
    sends nothing."""
    return [GenerationRecord._get_connection().connection.client, records._connection.client]


def _timed(run: Callable[[], dict[str, Any]]) -> tuple[float, float, dict[str, Any]]:
    started = time.perf_counter()
    outcome = run()
    return started, time.perf_counter() - started, outcome


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    arm = job["arm"]
    now = datetime.fromisoformat(job["now"])
    settings = GenerateSettings.from_env()
    counter = WireCounter()
    s3, dynamodb = s3_client(), dynamodb_client()
    records = record_store(settings)
    for client in (s3, dynamodb, *pynamodb_clients(records)):
        counter.attach(client)

    if arm == "sweep":
        from ideogram_assets.retention.sweep import Sweeper

        sweeper = Sweeper(records=records, s3=s3, now=lambda: now)

        def run() -> dict[str, Any]:
            summary = sweeper.run(dry_run=False, deadline=time.monotonic() + RUN_SECONDS)
            return {"counts": dict(summary.counts), "complete": summary.complete}

    elif arm == "reference":

        def run() -> dict[str, Any]:
            outcomes = reference_cleanup(dynamodb, s3, settings.table_name, now.date())
            return {"counts": dict(outcomes), "complete": True}

    elif arm == "reconcile":
        from ideogram_assets.generation.wiring import image_store
        from ideogram_assets.retention.reconcile import Reconciler

        images = image_store(settings)
        counter.attach(images.s3)
        reconciler = Reconciler(settings=settings, records=records, images=images, s3=s3, now=lambda: now)

        def run() -> dict[str, Any]:
            summary = reconciler.run(dry_run=False, deadline=time.monotonic() + RUN_SECONDS)
            return {"counts": dict(summary.counts), "complete": summary.complete}

    else:
        raise ValueError(f"unknown arm {arm!r}")

    started, seconds, outcome = _timed(run)
    return {
        "seconds": seconds,
        "outcome": outcome,
        "counts": counter.counts.to_json(),
        # When each operation was first called, in seconds from the start of the run.
        "first_call": {name: moment - started for name, moment in counter.first_call.items()},
    }


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    result = run_job(json.loads(argv[1]))
    Path(argv[2]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
