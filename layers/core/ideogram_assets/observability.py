"""The one place that creates Powertools' Logger, Tracer and Metrics for every function.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(template Globals), so each function shares them and logs correlate across functions.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Only botocore is patched up front: patching `requests` imports it, which a read-only
# function never needs. The Ideogram client patches it when it loads (trace_requests()).
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


def trace_requests() -> None:
    """Trace calls made with `requests` (Ideogram, image downloads) as X-Ray subsegments."""
    tracer.patch(modules=("requests",))
