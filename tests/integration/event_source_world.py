"""A small world for the event source tests: an inline template, a tiny handler, its invocation log.

The handler appends one JSON line per invocation to EVENT_LOG (function, start and end times, pid,
the event) and behaves as each record asks:

- SQS: the message body is a JSON object; `sleep` (seconds) delays the invocation, `raise` fails it,
  `report` lists the message in batchItemFailures, `bad_report` answers with an itemIdentifier that
  is in no batch, `hide_for` sets the message's visibility timeout (ChangeMessageVisibility) first,
  `once` makes `report` apply to the first delivery only (the log says when `hide_for` was done).
- DynamoDB: the new image's `action` attribute: `raise` fails the invocation when the record is in
  the batch, `report_once` lists the record in batchItemFailures on its first delivery only.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local_stack.event_source_mappings import PollingSettings
from local_stack.stack import StackOptions

HANDLER = """
import json
import os
import time


def _seen_before(key):
    marker = os.path.join(os.environ["MARKER_DIR"], key.replace("/", "_"))
    if os.path.exists(marker):
        return True
    open(marker, "w").close()
    return False


def _queue_message(record, failures, context):
    try:
        asks = json.loads(record["body"])
    except ValueError:
        return
    if not isinstance(asks, dict):
        return
    time.sleep(float(asks.get("sleep", 0)))
    if asks.get("raise"):
        raise RuntimeError("asked to fail")
    if "hide_for" in asks:
        import boto3  # here: a cold start without it takes a fraction of a second

        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=record["eventSourceARN"].rsplit(":", 1)[-1])["QueueUrl"]
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=int(asks["hide_for"])
        )
        context.hidden_at = time.time()
    if asks.get("bad_report"):
        failures.append({"itemIdentifier": "no-such-message"})
    elif asks.get("report") and not (asks.get("once") and _seen_before(record["messageId"])):
        failures.append({"itemIdentifier": record["messageId"]})


def _stream_record(record, failures, context):
    action = record["dynamodb"].get("NewImage", {}).get("action", {}).get("S")
    if action == "raise":
        raise RuntimeError("asked to fail")
    sequence = record["dynamodb"]["SequenceNumber"]
    if action == "report_once" and not _seen_before(context.function_name + sequence):
        failures.append({"itemIdentifier": sequence})


def handler(event, context):
    started = time.time()
    context.hidden_at = None
    failures = []
    entry = {"function": context.function_name, "start": started, "pid": os.getpid(), "event": event}
    try:
        for record in event["Records"]:
            if record["eventSource"] == "aws:sqs":
                _queue_message(record, failures, context)
            else:
                _stream_record(record, failures, context)
    except Exception as error:
        entry["raised"] = str(error)
        raise
    finally:
        entry["end"] = time.time()
        entry["hidden_at"] = context.hidden_at
        entry["failures"] = failures
        with open(os.environ["EVENT_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\\n")
    return {"batchItemFailures": failures}
"""

TEMPLATE_HEAD = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 2
Resources:
"""


def write_world(directory: Path, resources: str) -> Path:
    """template.yaml (the resources given, YAML indented by two) and the handler; the template's path."""
    (directory / "worker").mkdir(parents=True, exist_ok=True)
    (directory / "worker" / "app.py").write_text(HANDLER, encoding="utf-8")
    (directory / "markers").mkdir(exist_ok=True)
    template = directory / "template.yaml"
    template.write_text(TEMPLATE_HEAD + textwrap.indent(textwrap.dedent(resources), "  "), encoding="utf-8")
    return template


def options(directory: Path, template: Path, stack_name: str, **overrides: Any) -> StackOptions:
    settings: dict[str, Any] = {
        "template_path": template,
        "stack_name": stack_name,
        "log_dir": directory / "logs",
        # No Ideogram at all: these functions never call it (and no emulator is started).
        "ideogram_base_url": "http://127.0.0.1:9",
        "extra_environment": {
            "EVENT_LOG": str(directory / "invocations.jsonl"),
            "MARKER_DIR": str(directory / "markers"),
        },
        "polling": PollingSettings(queue_wait_seconds=1, stream_poll_seconds=0.1),
    }
    return StackOptions(**(settings | overrides))


def invocations(directory: Path, function: str | None = None) -> list[dict[str, Any]]:
    log = directory / "invocations.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    entries = [json.loads(line) for line in lines]
    return [entry for entry in entries if function is None or entry["function"] == function]


def wait_for(found: Callable[[], bool], timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
