"""The one place that creates Powertools' Logger, Tracer and Metrics for every function.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(template Globals), so each function shares them and logs correlate across functions.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
