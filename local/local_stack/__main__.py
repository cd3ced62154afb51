"""`python -m local_stack up|demo`: the local stack in the foreground, or the demo."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from local_stack.stack import ENDPOINTS_FILE, STATE_DIR, LocalStack, StackOptions
from local_stack.template import PROJECT_ROOT


def _progress(message: str) -> None:
    print(f"==> {message}", flush=True)


def _curl_examples(stack: LocalStack) -> str:
    credentials = f"{stack.caller.access_key_id}:{stack.caller.secret_access_key}"
    sigv4 = f'--aws-sigv4 "aws:amz:{stack.options.region}:execute-api" --user "{credentials}"'
    lines = [
        "Examples (the API takes SigV4-signed requests only, as in AWS):",
        f"  curl -s {sigv4} {stack.api_url}/health",
        f"  curl -s {sigv4} -H 'content-type: application/json' {stack.api_url}/generations "
        """-d '{"prompt": "a lighthouse at dusk", "num_images": 2}'""",
        f"  curl -s {sigv4} {stack.api_url}/generations/<id from the reply>",
        f"  curl -s {stack.api_url}/health            # unsigned: 403",
    ]
    if stack.emulator is not None:
        lines += [
            "  # the Ideogram emulator:",
            f"  curl -s -H 'Api-Key: {stack.ideogram_api_key}' -F prompt='a red fox' -F num_images=2 "
            f"{stack.ideogram_url}/v1/ideogram-v3/generate",
            f"  curl -s -X PUT -d '{{\"latency_seconds\": 2}}' {stack.ideogram_url}/_emulator/faults",
        ]
    return "\n".join([*lines, *_invoke_example(stack)])


def _invoke_example(stack: LocalStack) -> list[str]:
    """`aws lambda invoke` through the local Lambda Invoke API, with one of the sample events."""
    samples = sorted(PROJECT_ROOT.glob("events/*/*.json"))
    sample = next((path for path in samples if path.parent.name == "QueryFunction"), None)
    if sample is None or sample.parent.name not in stack.runtimes:
        return []
    credentials = f"AWS_ACCESS_KEY_ID={stack.caller.access_key_id} "
    credentials += f"AWS_SECRET_ACCESS_KEY={stack.caller.secret_access_key}"
    return [
        "  # the Lambda Invoke API: any function by its name, SigV4-signed for `lambda`:",
        f"  {credentials} aws lambda invoke --endpoint-url {stack.lambda_url} --region {stack.options.region}"
        f" --function-name {sample.parent.name}"
        f" --payload fileb://{sample.relative_to(PROJECT_ROOT)} /dev/stdout",
    ]


def _buses_and_queues(stack: LocalStack) -> str:
    """The event buses and queues, for sending events and messages by hand."""
    named = stack.buses_and_queues()
    lines = [
        f"  bus {logical_id}: {bus['name']} ({bus['arn']})" for logical_id, bus in named["buses"].items()
    ]
    lines += [f"  queue {logical_id}: {queue['url']}" for logical_id, queue in named["queues"].items()]
    return "\n".join(
        ["Event buses and queues (in the AWS emulator at " + stack.aws.endpoint_url + "):", *lines]
    )


def run_up(options: StackOptions) -> int:
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # The gateway's and the Lambda Invoke API's access logs, one line per schedule firing and one
    # per invocation by a queue or stream.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with LocalStack(options) as stack:
        path = stack.write_endpoints()
        print(f"\nThe local stack is ready; endpoints and local credentials are in {path}")
        print(f"API docs (Swagger UI, served unsigned by the local gateway only): {stack.docs_url}\n")
        if stack.buses_and_queues()["buses"] or stack.buses_and_queues()["queues"]:
            print(_buses_and_queues(stack) + "\n")
        print(_curl_examples(stack))
        print("\nPress Ctrl-C to stop.", flush=True)
        stopping.wait()
        _progress("stopping")
    ENDPOINTS_FILE.unlink(missing_ok=True)
    _progress("stopped")
    return 0


def _pairs(parser: argparse.ArgumentParser, values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, separator, setting = value.partition("=")
        if not separator or not name:
            parser.error(f"--parameter-overrides takes KEY=VALUE pairs, not {value!r}")
        pairs[name] = setting
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the local stack in the foreground")
    up.add_argument("--api-port", type=int, default=0, help="gateway port (default: a free one)")
    up.add_argument("--aws-port", type=int, default=0, help="moto server port (default: a free one)")
    up.add_argument(
        "--ideogram-port", type=int, default=0, help="Ideogram emulator port (default: a free one)"
    )
    up.add_argument("--lambda-port", type=int, default=0, help="Lambda Invoke API port (default: a free one)")
    up.add_argument(
        "--schedule-interval",
        type=float,
        metavar="SECONDS",
        help="fire every schedule every SECONDS instead of at its own rate or cron times",
    )
    up.add_argument("--no-schedules", action="store_true", help="do not fire the template's schedules")
    up.add_argument(
        "--no-event-sources",
        action="store_true",
        help="do not poll the template's queues and streams for their functions (SQS, DynamoDB events)",
    )
    up.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as `sam deploy` takes them (e.g. ShortRetentionDays=0)",
    )
    commands.add_parser("demo", help="start the stack, run the main job, show the result, stop")
    arguments = parser.parse_args(argv)

    STATE_DIR.mkdir(exist_ok=True)
    if arguments.command == "up":
        options = StackOptions(
            api_port=arguments.api_port,
            aws_port=arguments.aws_port,
            ideogram_port=arguments.ideogram_port,
            lambda_port=arguments.lambda_port,
            schedules=not arguments.no_schedules,
            event_sources=not arguments.no_event_sources,
            schedule_interval_seconds=arguments.schedule_interval,
            parameter_overrides=_pairs(parser, arguments.parameter_overrides),
            progress=_progress,
        )
        return run_up(options)
    from local_stack.demo import run_demo

    return run_demo()


if __name__ == "__main__":
    sys.exit(main())
