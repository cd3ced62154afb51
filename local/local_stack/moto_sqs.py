"""moto's SQS ReceiveMessage without recomputing every queue attribute per message: installed in
the local stack's moto server (moto_server.py).

For each message it hands out, moto checks the queue's retention period through
get_queue_attributes, which builds all of the queue's attributes, ApproximateNumberOfMessages and
the other counts among them (a pass over every message), and builds them again for each name
asked. A receive of 10 messages from a queue holding a few hundred then walks the queue a few
dozen times: several percent of the server's CPU while the local stack's ingest drains a burst.
Here the check reads the retention period the queue keeps; the answer is the same.

Importing this module changes nothing; install() patches moto's SQS backend in the importing
process, once, and raises RuntimeError if moto no longer has the shape the patch relies on.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.core.utils import unix_time

MARKER = "local stack: SQS checks a message's retention without rebuilding the queue's attributes"


def install() -> bool:
    """Patches moto's SQS backend in this process; False when it was patched already."""
    import moto.sqs.models as models

    backend: Any = models.SQSBackend
    check = getattr(backend, "is_message_valid_based_on_retention_period", None)
    if check is None:
        raise RuntimeError("moto's SQS backend changed: the retention check patch does not apply")
    if getattr(check, "local_stack_patch", False):
        return False

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    is_message_valid_based_on_retention_period.local_stack_patch = True  # type: ignore[attr-defined]
    backend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    print(MARKER, file=sys.stderr, flush=True)
    return True
