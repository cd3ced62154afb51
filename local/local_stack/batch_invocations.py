"""One invocation of a function with a batch of records, as an event source mapping makes it.

The outcome follows Lambda's rules for partial batch responses (ReportBatchItemFailures): the
batch succeeded when the response is empty, null, or has an empty or null `batchItemFailures`;
it failed as a whole when the function raised, timed out or crashed, or when the response is not
a JSON object, `batchItemFailures` is not a list, or an entry's `itemIdentifier` is missing,
empty, or names no record of the batch. Without ReportBatchItemFailures the response is ignored.
Every invocation is logged as one JSON line on `local_stack.event_sources`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local_stack.lambda_runtime import FunctionRuntime, InvocationError, InvocationThrottled

event_source_log = logging.getLogger("local_stack.event_sources")


@dataclass(frozen=True)
class BatchOutcome:
    # The identifiers of the records that failed: empty when all succeeded, None when the whole
    # batch failed.
    failed: frozenset[str] | None
    error: str | None = None  # why the whole batch failed (the function's error type, or the response)
    function_error: bool = False  # the function raised, timed out or crashed (not a refused response)
    throttled: bool = False  # refused by the function's reserved concurrency: not an attempt

    @property
    def succeeded(self) -> bool:
        return self.failed == frozenset()


def failed_items(response: Any, identifiers: Sequence[str]) -> tuple[frozenset[str] | None, str | None]:
    """The items a partial batch response reports as failed (None: the whole batch), and why not."""
    if response is None:
        return frozenset(), None
    if not isinstance(response, Mapping):
        return None, "the response is not a JSON object"
    failures = response.get("batchItemFailures")
    if failures is None:
        return frozenset(), None
    if not isinstance(failures, list):
        return None, "batchItemFailures is not a list"
    known = set(identifiers)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or not identifier:
            return None, "an itemIdentifier is missing or empty"
        if identifier not in known:
            return None, f"the itemIdentifier {identifier!r} is not in the batch"
        failed.add(identifier)
    return frozenset(failed), None


def invoke_batch(
    runtime: FunctionRuntime,
    event: Mapping[str, Any],
    identifiers: Sequence[str],
    *,
    report_batch_item_failures: bool,
    log_entry: Mapping[str, Any],
) -> BatchOutcome:
    """Invokes the function synchronously with the batch, and says which records failed."""
    started = time.monotonic()
    try:
        result = runtime.invoke(event)
        # What Lambda returns is JSON: a result that cannot be one is the function's error.
        response = json.loads(json.dumps(result))
    except InvocationThrottled:
        outcome = BatchOutcome(failed=None, error="TooManyRequestsException", throttled=True)
    except InvocationError as error:
        outcome = BatchOutcome(failed=None, error=error.kind, function_error=True)
    except (TypeError, ValueError):
        outcome = BatchOutcome(failed=None, error="Runtime.MarshalError", function_error=True)
    except Exception as error:  # the stack stopping under the invocation, among others
        outcome = BatchOutcome(failed=None, error=type(error).__name__, function_error=True)
    else:
        if report_batch_item_failures:
            failed, reason = failed_items(response, identifiers)
            outcome = BatchOutcome(failed=failed, error=reason)
        else:
            outcome = BatchOutcome(failed=frozenset())
    entry = {
        **log_entry,
        "function": runtime.spec.function_name,
        "batchSize": len(identifiers),
        "outcome": "ok" if outcome.succeeded else ("partial" if outcome.failed else "failed"),
        "failedItems": len(identifiers) if outcome.failed is None else len(outcome.failed),
        "error": outcome.error,
        "latencyMs": round((time.monotonic() - started) * 1000),
    }
    event_source_log.info(json.dumps(entry))
    return outcome
