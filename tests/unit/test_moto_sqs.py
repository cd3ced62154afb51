"""The local stack's moto SQS patch: a message's retention is checked from the queue's own
setting, not by rebuilding every queue attribute, and the answers stay moto's. Run in a child
process, so the patch never reaches this one's moto."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from local_stack.moto_sqs import MARKER

SCRIPT = textwrap.dedent(
    """
    import boto3
    from moto import mock_aws
    import moto.sqs.models as models
    from local_stack import moto_sqs

    def received(retention: int, age: float, patched: bool) -> tuple[int, int]:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(
                QueueName="q", Attributes={"MessageRetentionPeriod": str(retention)}
            )["QueueUrl"]
            for number in range(20):
                sqs.send_message(QueueUrl=url, MessageBody=str(number))
            backend = models.sqs_backends["123456789012"]["us-east-1"]
            for message in backend.get_queue("q")._messages:
                message.sent_timestamp -= int(age * 1000)
            calls = 0
            original = models.SQSBackend.get_queue_attributes

            def counted(self, *args, **kwargs):
                nonlocal calls
                calls += 1
                return original(self, *args, **kwargs)

            models.SQSBackend.get_queue_attributes = counted
            try:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            finally:
                models.SQSBackend.get_queue_attributes = original
            return len(got), calls

    before = [received(60, 0, False), received(60, 120, False)]
    print(moto_sqs.install(), moto_sqs.install())
    after = [received(60, 0, True), received(60, 120, True)]
    print([count for count, _ in before], [count for count, _ in after])
    print([calls for _, calls in before], [calls for _, calls in after])
    """
)


def test_retention_is_checked_without_building_the_queues_attributes() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    installed, counts, calls = done.stdout.strip().splitlines()
    assert installed == "True False"  # once
    assert counts == "[10, 0] [10, 0]"  # fresh messages received, expired ones not: as moto does
    before, after = calls.split("] [")
    assert before == "[10, 1"  # moto asked for the queue's attributes for each message it checked
    assert after == "0, 0]"
    assert done.stderr.count(MARKER) == 1
