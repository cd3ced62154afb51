"""The embedded local stack: AWS emulator, Ideogram emulator (or a real Ideogram), gateway, the
Lambda Invoke API, the template's schedules and its event source mappings (queues, streams)."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from local_stack.api_docs import PAGE_ROUTE, ApiDocs
from local_stack.aws_emulator import LOCAL_ACCOUNT_ID, LOCAL_AWS_ENVIRONMENT, AwsEmulator
from local_stack.event_source_mappings import (
    EventSourceMappings,
    PollingSettings,
    QueueMapping,
    StreamMapping,
)
from local_stack.fault_proxy import FaultProxy
from local_stack.functions import load_functions
from local_stack.gateway import Gateway, GatewayConfig
from local_stack.ideogram import EmulatorSettings, RunningEmulator, start_emulator
from local_stack.lambda_api import LambdaApi, LambdaApiConfig
from local_stack.lambda_runtime import FunctionRuntime
from local_stack.provision import provision
from local_stack.scheduler import ScheduledFunction, Scheduler
from local_stack.sigv4 import CallerCredentials
from local_stack.template import (
    PROJECT_ROOT,
    TEMPLATE_PATH,
    Resolver,
    TemplateError,
    load_template,
    resources_of_type,
)
from local_stack.triggers.http import HttpRoute

STATE_DIR = PROJECT_ROOT / ".local"
ENDPOINTS_FILE = STATE_DIR / "endpoints.json"


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# What the functions sign their AWS calls with locally (LOCAL_AWS_ENVIRONMENT): their "role".
FUNCTION_ROLE = CallerCredentials(
    access_key_id=LOCAL_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
    secret_access_key=LOCAL_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
    account_id=LOCAL_ACCOUNT_ID,
    user_arn=f"arn:aws:sts::{LOCAL_ACCOUNT_ID}:assumed-role/local-function-role/local",
)


def _local_caller() -> CallerCredentials:
    """Fresh credentials for this run of the stack: the only caller its gateway accepts."""
    alphabet = string.ascii_uppercase + string.digits
    return CallerCredentials(
        access_key_id="AKIALOCAL" + "".join(secrets.choice(alphabet) for _ in range(11)),
        secret_access_key=secrets.token_urlsafe(30),
        account_id=LOCAL_ACCOUNT_ID,
        user_arn=f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/local-developer",
    )


@dataclass
class StackOptions:
    stack_name: str = "ideogram-assets-local"
    region: str = LOCAL_AWS_ENVIRONMENT["AWS_REGION"]
    host: str = "127.0.0.1"
    # The template the stack runs; CodeUri and ContentUri are relative to its directory.
    template_path: Path = TEMPLATE_PATH
    api_port: int = 0
    lambda_port: int = 0
    aws_port: int = 0
    ideogram_port: int = 0
    # IDEOGRAM_BASE_URL points the stack at another Ideogram (real or not) instead of the emulator.
    ideogram_base_url: str | None = field(default_factory=lambda: os.environ.get("IDEOGRAM_BASE_URL") or None)
    ideogram_api_key: str | None = field(default_factory=lambda: os.environ.get("IDEOGRAM_API_KEY") or None)
    emulator_settings: EmulatorSettings | None = None
    # As in AWS: the key is kept in a Secrets Manager secret (in the AWS emulator, named by the
    # template's IdeogramApiKeySecretName) and the functions get no IDEOGRAM_API_KEY.
    ideogram_key_from_secret: bool = False
    concurrency: int = 4
    # Where the emulator processes and the functions write their logs; None: this console.
    log_dir: Path | None = None
    # Functions reach AWS through a proxy that tests can tell to fail requests (fault_proxy.py).
    fault_proxy: bool = False
    # Added to every function's environment, over the template's values (tests tune limits).
    extra_environment: dict[str, str] = field(default_factory=dict)
    # Template parameters, as `sam deploy --parameter-overrides` sets them (ShortRetentionDays=0).
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # Fire the template's Schedule/ScheduleV2 events (`make up` does; off unless asked, so that
    # nothing fires on its own in the middle of a test).
    schedules: bool = False
    # Every schedule fires every this many seconds instead of at its own rate or cron times.
    schedule_interval_seconds: float | None = None
    # Poll the template's SQS queues and DynamoDB streams for their functions (SQS and DynamoDB
    # events), as Lambda's event source mappings do.
    event_sources: bool = True
    # How often the pollers look; None: SQS long polls of 1 s, streams read 4 times a second.
    polling: PollingSettings | None = None
    progress: Callable[[str], None] = lambda message: None


class LocalStack:
    """Starts everything on loopback ports; a context manager that stops it all on exit."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.caller = _local_caller()
        log_dir = self.options.log_dir
        self.aws = AwsEmulator(
            host=self.options.host,
            port=self.options.aws_port,
            log_path=log_dir / "aws.log" if log_dir else None,
        )
        self.emulator: RunningEmulator | None = None
        self.proxy: FaultProxy | None = None
        self.gateway: Gateway | None = None
        self.lambda_api: LambdaApi | None = None
        self.scheduler: Scheduler | None = None
        self.event_sources: EventSourceMappings | None = None
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.resolver: Resolver | None = None

    @property
    def ideogram_url(self) -> str:
        if self.emulator is not None:
            return self.emulator.url
        assert self.options.ideogram_base_url is not None
        return self.options.ideogram_base_url.rstrip("/")

    @property
    def ideogram_api_key(self) -> str:
        if self.emulator is not None:
            return self.emulator.settings.api_key
        return self.options.ideogram_api_key or ""

    @property
    def api_url(self) -> str:
        assert self.gateway is not None, "the stack is not started"
        return self.gateway.url

    @property
    def docs_url(self) -> str:
        """Swagger UI over the API's OpenAPI document (served by the local gateway only)."""
        return f"{self.api_url}{PAGE_ROUTE}"

    @property
    def lambda_url(self) -> str:
        assert self.lambda_api is not None, "the stack is not started"
        return self.lambda_api.url

    @property
    def ideogram_key_secret_name(self) -> str:
        """The secret the functions read the key from (IDEOGRAM_API_KEY_SECRET_NAME)."""
        assert self.resolver is not None, "the stack is not started"
        return self.resolver.parameter("IdeogramApiKeySecretName")

    def put_ideogram_key_secret(self, value: str) -> None:
        """Creates the key's secret in the AWS emulator, or stores `value` as its current version."""
        secrets_manager = self.aws.client("secretsmanager")
        try:
            secrets_manager.create_secret(Name=self.ideogram_key_secret_name, SecretString=value)
        except secrets_manager.exceptions.ResourceExistsException:
            secrets_manager.put_secret_value(SecretId=self.ideogram_key_secret_name, SecretString=value)

    def function_environment(self) -> dict[str, str]:
        """What every local execution environment gets on top of the template's own variables."""
        environment = {
            **LOCAL_AWS_ENVIRONMENT,
            "AWS_ENDPOINT_URL": self.proxy.url if self.proxy else self.aws.endpoint_url,
            "AWS_CA_BUNDLE": self.aws.ca_bundle,
            "LOCAL_ACCOUNT_ID": LOCAL_ACCOUNT_ID,
            # No X-Ray daemon runs locally; traces would only be dropped with warnings.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "IDEOGRAM_BASE_URL": self.ideogram_url,
        }
        # Locally the key comes from the environment, unless it is kept in Secrets Manager as in AWS.
        if not self.options.ideogram_key_from_secret:
            environment["IDEOGRAM_API_KEY"] = self.ideogram_api_key
        # Image downloads are refused from any host but Ideogram's. An emulator on this machine
        # (the embedded one, or another named by IDEOGRAM_BASE_URL) is allowed only here, never
        # in the template; a remote IDEOGRAM_BASE_URL adds nothing.
        ideogram_host = urlsplit(self.ideogram_url).hostname or ""
        if self.emulator is not None or _is_loopback(ideogram_host):
            environment["IDEOGRAM_EXTRA_DOWNLOAD_HOSTS"] = ideogram_host
        # A function that invokes another (the exports API starts its worker) reaches the local
        # Lambda Invoke API, as it reaches Lambda in AWS; every other service stays on moto.
        if self.lambda_api is not None:
            environment["AWS_ENDPOINT_URL_LAMBDA"] = self.lambda_api.url
        return environment | self.options.extra_environment

    def start(self) -> Self:
        progress = self.options.progress
        progress("starting the AWS emulator (moto server)")
        if self.options.log_dir is not None:
            self.options.log_dir.mkdir(parents=True, exist_ok=True)
        self.aws.start()
        template = load_template(self.options.template_path)
        unknown = set(self.options.parameter_overrides) - set(template.get("Parameters", {}))
        if unknown:
            raise TemplateError(f"template.yaml has no parameter {', '.join(sorted(unknown))}")
        self.resolver = Resolver(
            template,
            self.options.stack_name,
            self.options.region,
            LOCAL_ACCOUNT_ID,
            parameter_overrides=self.options.parameter_overrides,
        )
        created = provision(self.resolver, self.aws)
        progress(f"created {', '.join(sorted(created))} from template.yaml")
        if self.options.fault_proxy:
            self.proxy = FaultProxy(self.aws.endpoint_url, self.aws.ca_bundle, host=self.options.host).start()
        if self.options.ideogram_base_url:
            progress(f"using Ideogram at {self.options.ideogram_base_url}")
        else:
            settings = self.options.emulator_settings or EmulatorSettings()
            self.emulator = start_emulator(settings, host=self.options.host, port=self.options.ideogram_port)
            progress(f"Ideogram emulator listening on {self.emulator.url}")
        if self.options.ideogram_key_from_secret:
            self.put_ideogram_key_secret(self.ideogram_api_key)
            progress(f"Ideogram key stored in the secret {self.ideogram_key_secret_name}")
        callers = {self.caller.access_key_id: self.caller}
        # Started before the functions are loaded, so their environment can name it (it knows a
        # function once loaded); they may invoke through it, signed with their local credentials.
        lambda_config = LambdaApiConfig(
            runtimes=self.runtimes,
            callers=callers | {FUNCTION_ROLE.access_key_id: FUNCTION_ROLE},
            region=self.options.region,
            account_id=LOCAL_ACCOUNT_ID,
        )
        lambda_api = LambdaApi(lambda_config, host=self.options.host, port=self.options.lambda_port)
        self.lambda_api = lambda_api.start()
        routes: dict[HttpRoute, FunctionRuntime] = {}
        schedules: list[ScheduledFunction] = []
        queues: list[QueueMapping] = []
        streams: list[StreamMapping] = []
        for spec in load_functions(self.resolver, base_dir=self.options.template_path.parent):
            log_path = self.options.log_dir / "functions.log" if self.options.log_dir else None
            # A queue's MaximumConcurrency is honoured even above the stack's own limit: it is
            # what paces the function (the ingest keeps Ideogram's in-flight images under a cap).
            concurrency = max(
                [self.options.concurrency]
                + [source.maximum_concurrency or 0 for source in spec.queue_sources if source.enabled]
            )
            runtime = FunctionRuntime(spec, self.function_environment(), concurrency, log_path)
            self.runtimes[spec.logical_id] = runtime
            routes.update(dict.fromkeys(spec.routes, runtime))
            schedules += [ScheduledFunction(schedule, runtime) for schedule in spec.schedules]
            queues += [QueueMapping(source, runtime) for source in spec.queue_sources]
            streams += [StreamMapping(source, runtime) for source in spec.stream_sources]
        config = GatewayConfig(runtimes=routes, callers=callers, region=self.options.region, docs=ApiDocs())
        self.gateway = Gateway(config, host=self.options.host, port=self.options.api_port).start()
        progress(f"API gateway listening on {self.gateway.url}, routes from template.yaml: {len(routes)}")
        progress(f"API documentation (Swagger UI, unsigned, local only) at {self.docs_url}")
        progress(f"Lambda Invoke API listening on {self.lambda_api.url}: {', '.join(sorted(self.runtimes))}")
        self._start_schedules(schedules)
        self._start_event_sources(queues, streams)
        return self

    def _start_event_sources(self, queues: list[QueueMapping], streams: list[StreamMapping]) -> None:
        if not queues and not streams:
            return
        if not self.options.event_sources:
            self.options.progress(
                f"event sources off: {len(queues) + len(streams)} in the template are not polled"
            )
            return
        settings = self.options.polling or PollingSettings(default_concurrency=self.options.concurrency)
        self.event_sources = EventSourceMappings(
            queues,
            streams,
            self.aws,
            region=self.options.region,
            account_id=LOCAL_ACCOUNT_ID,
            settings=settings,
        ).start()
        self.options.progress(
            f"event sources polled: {', '.join(self.event_sources.names) or 'none (all disabled)'}"
        )

    def _start_schedules(self, schedules: list[ScheduledFunction]) -> None:
        if not schedules:
            return
        if not self.options.schedules:
            self.options.progress(f"schedules off: {len(schedules)} in the template do not fire")
            return
        self.scheduler = Scheduler(
            schedules,
            stack_name=self.options.stack_name,
            region=self.options.region,
            account_id=LOCAL_ACCOUNT_ID,
            interval_seconds=self.options.schedule_interval_seconds,
        ).start()
        interval = self.options.schedule_interval_seconds
        when = "at their own rate or cron times" if interval is None else f"every {interval:g} s"
        enabled = [job.schedule for job in self.scheduler.jobs]
        names = ", ".join(f"{schedule.function_id}.{schedule.event_name}" for schedule in enabled)
        disabled = len(schedules) - len(enabled)
        self.options.progress(
            f"schedules firing {when}: {names or 'none'}" + (f" ({disabled} disabled)" if disabled else "")
        )

    def endpoints(self) -> dict[str, Any]:
        endpoints: dict[str, Any] = {
            "api": self.api_url,
            "lambda": self.lambda_url,
            "aws": self.aws.endpoint_url,
            "aws_ca_bundle": self.aws.ca_bundle,
            "ideogram": self.ideogram_url,
            "region": self.options.region,
            "stack_name": self.options.stack_name,
            "resources": dict(self.resolver.physical_ids) if self.resolver else {},
            **self.buses_and_queues(),
            # The IAM auth in local form: sign requests with these (SigV4, execute-api or lambda).
            "credentials": {
                "access_key_id": self.caller.access_key_id,
                "secret_access_key": self.caller.secret_access_key,
            },
        }
        if self.emulator is not None:
            # Only the emulator's throwaway key; a real Ideogram key is never written to disk.
            endpoints["ideogram_api_key"] = self.emulator.settings.api_key
        return endpoints

    def buses_and_queues(self) -> dict[str, dict[str, dict[str, str]]]:
        """The template's event buses (name, ARN) and queues (URL, ARN, name), by logical id."""
        if self.resolver is None:
            return {"buses": {}, "queues": {}}
        resolver, template = self.resolver, self.resolver.template
        buses = {
            logical_id: {
                "name": resolver.physical_ids[logical_id],
                "arn": resolver.attributes[(logical_id, "Arn")],
            }
            for logical_id in resources_of_type(template, "AWS::Events::EventBus")
            if logical_id in resolver.physical_ids
        }
        queues = {
            logical_id: {
                "url": resolver.physical_ids[logical_id],
                "arn": resolver.attributes[(logical_id, "Arn")],
                "name": resolver.attributes[(logical_id, "QueueName")],
            }
            for logical_id in resources_of_type(template, "AWS::SQS::Queue")
            if logical_id in resolver.physical_ids
        }
        return {"buses": buses, "queues": queues}

    def write_endpoints(self, path: Path = ENDPOINTS_FILE) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Holds the local caller's secret: readable by its owner only.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(self.endpoints(), stream, indent=2)
            stream.write("\n")
        return path

    def stop(self) -> None:
        # Triggers first, so nothing starts an invocation while the environments are closing.
        if self.event_sources is not None:
            self.event_sources.stop()
            self.event_sources = None
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self.lambda_api is not None:
            self.lambda_api.stop()
            self.lambda_api = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        # All at once: each waits a moment for its environments' processes to exit.
        closing = [threading.Thread(target=runtime.close) for runtime in self.runtimes.values()]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()
        self.runtimes.clear()
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        self.aws.stop()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
