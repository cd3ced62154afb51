"""The one place that creates Powertools' Logger, Tracer and Metrics for every function.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(template Globals), so each function shares them and logs correlate across functions.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Only botocore is patched up front: patching `requests` imports it, which a read-only
# function never needs. The Ideogram client patches it when it loads (trace_requests()).
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


def trace_requests() -> None:
    """Trace calls made with `requests` (Ideogram, image downloads) as X-Ray subsegments."""
    tracer.patch(modules=("requests",))


@contextmanager
def log_keys(**keys: object) -> Iterator[None]:
    """Keys on every log line of this thread (and of the block only): the ingest runs a batch's
    messages on threads at once, and Logger's own keys would label one message's lines with
    another's ids."""
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(keys)
