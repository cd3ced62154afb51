"""Retention function: reconcile, sweep or report, on EventBridge schedules and on demand.

The payload is {"task": "reconcile" | "sweep" | "report", "dryRun": bool} (a schedule passes it
as its Input); the reply is the task's summary. A payload that is not one is a function error
with a message saying what is expected.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.observability import logger, metrics, tracer
from ideogram_assets.retention.service import RetentionRequest


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
# The summary lists record ids and object keys: kept out of traces.
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RetentionRequest.parse(event)
    from ideogram_assets.retention.wiring import retention_service  # loads on the first invocation

    logger.append_keys(task=request.task, dry_run=request.dry_run)
    return retention_service().run(request, budget=context)
