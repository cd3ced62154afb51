"""Export worker: writes one export job's file to S3, started asynchronously by POST /exports.

The payload is {"exportId": "<32 hex>"}; the reply is the run's summary. A payload that is not
one is a function error saying what is expected. Failures other than the time limit mark the job
FAILED and are raised, so that they count as the function's errors (and its alarm sees them).
"""

import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.observability import logger, metrics, tracer

_EXPORT_ID = re.compile(r"[0-9a-f]{32}")


class InvalidExportEvent(ValueError):
    """The payload is not {"exportId": "<32 lowercase hex characters>"}."""


def _export_id(event: Any) -> str:
    export_id = event.get("exportId") if isinstance(event, dict) else None
    if not isinstance(export_id, str) or not _EXPORT_ID.fullmatch(export_id):
        raise InvalidExportEvent('expected {"exportId": "<32 lowercase hex characters>"}')
    return export_id


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
# The summary is small, but the run reads prompts: kept out of traces.
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    export_id = _export_id(event)
    from ideogram_assets.exports.wiring import export_worker  # loads on the first invocation

    logger.append_keys(export_id=export_id)
    return export_worker().run(export_id, budget=context).as_dict()
