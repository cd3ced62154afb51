"""Query function: the API's read routes. Thin: parse, call the core, shape the reply."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.config import get_settings
from ideogram_assets.health import HealthReport, check_health
from ideogram_assets.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)


@app.get("/health")
@tracer.capture_method
def health() -> Response[HealthReport]:
    report = check_health(get_settings())
    if report.status != "ok":
        metrics.add_metric(name="HealthDegraded", unit=MetricUnit.Count, value=1)
    status_code = 200 if report.status == "ok" else 503
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
