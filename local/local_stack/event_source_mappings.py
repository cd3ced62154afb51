"""Runs the template's event source mappings: queue pollers (queue_poller.py) and stream readers
(stream_poller.py), each invoking its function's real handler through its FunctionRuntime.

They reach the AWS emulator directly, as Lambda's pollers are AWS's own: the fault proxy stands
between the functions and AWS only. A mapping whose queue, stream or on-failure destination does
not exist stops the stack at start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from local_stack.aws_emulator import AwsEmulator
from local_stack.lambda_runtime import FunctionRuntime
from local_stack.queue_poller import QueuePoller
from local_stack.stream_poller import StreamPoller
from local_stack.template import TemplateError
from local_stack.triggers.queue import QueueSource
from local_stack.triggers.stream import StreamSource


@dataclass(frozen=True)
class PollingSettings:
    # SQS long polls this long (whole seconds, 1-20). A message is delivered as soon as it is
    # there whatever the wait; a short one only makes the stack stop sooner.
    queue_wait_seconds: int = 1
    # Lambda reads each shard of a DynamoDB stream four times a second.
    stream_poll_seconds: float = 0.25
    # Invocations at once for a queue without ScalingConfig.MaximumConcurrency.
    default_concurrency: int = 4


@dataclass(frozen=True)
class QueueMapping:
    source: QueueSource
    runtime: FunctionRuntime


@dataclass(frozen=True)
class StreamMapping:
    source: StreamSource
    runtime: FunctionRuntime


class EventSourceMappings:
    def __init__(
        self,
        queues: Sequence[QueueMapping],
        streams: Sequence[StreamMapping],
        aws: AwsEmulator,
        *,
        region: str,
        account_id: str,
        settings: PollingSettings,
    ) -> None:
        if not 0 <= settings.queue_wait_seconds <= 20:
            raise ValueError("queue_wait_seconds must be between 0 and 20 (SQS's long poll)")
        if settings.stream_poll_seconds <= 0:
            raise ValueError("stream_poll_seconds must be positive")
        self.queue_pollers: list[QueuePoller] = []
        self.stream_pollers: list[StreamPoller] = []
        # Each poller has clients of its own, with a connection for each invocation that deletes.
        for queue in queues:
            if not queue.source.enabled:
                continue
            concurrency = queue.source.maximum_concurrency or settings.default_concurrency
            sqs = aws.client("sqs", region, max_pool_connections=concurrency + 2)
            try:
                poller = QueuePoller(
                    queue.source,
                    queue.runtime,
                    sqs,
                    region=region,
                    account_id=account_id,
                    concurrency=concurrency,
                    wait_seconds=settings.queue_wait_seconds,
                )
            except sqs.exceptions.QueueDoesNotExist:
                raise TemplateError(f"{queue.source.name}: no queue {queue.source.queue_arn}") from None
            self.queue_pollers.append(poller)
        for stream in streams:
            if not stream.source.enabled:
                continue
            streams_client = aws.client("dynamodbstreams", region)
            sqs = aws.client("sqs", region)
            try:
                reader = StreamPoller(
                    stream.source,
                    stream.runtime,
                    streams_client,
                    sqs,
                    region=region,
                    account_id=account_id,
                    poll_seconds=settings.stream_poll_seconds,
                )
            except sqs.exceptions.QueueDoesNotExist:
                raise TemplateError(
                    f"{stream.source.name}: no on-failure queue {stream.source.on_failure_queue_arn}"
                ) from None
            except streams_client.exceptions.ResourceNotFoundException:
                raise TemplateError(f"{stream.source.name}: no stream {stream.source.stream_arn}") from None
            self.stream_pollers.append(reader)

    @property
    def names(self) -> list[str]:
        return [poller.source.name for poller in self._pollers]

    @property
    def _pollers(self) -> list[QueuePoller | StreamPoller]:
        return [*self.queue_pollers, *self.stream_pollers]

    def start(self) -> Self:
        for queue_poller in self.queue_pollers:
            queue_poller.start()
        for stream_poller in self.stream_pollers:
            stream_poller.start()
        return self

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Stops polling; invocations still running get `grace_seconds` to end."""
        pollers = self._pollers
        for poller in pollers:  # all at once, then each waited for
            poller.request_stop()
        for poller in pollers:
            poller.stop(grace_seconds)
