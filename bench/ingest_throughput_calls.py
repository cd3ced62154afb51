"""AWS calls per generation, counted on the wire: the fault proxy in front of moto with rules that
match each operation and never fail (they only count what they see).

Only the functions reach AWS through the proxy: the ingest (and the publisher it sets off, through
the table's stream). The queue and stream pollers are the stack's own, as Lambda's are AWS's, and
are not counted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local_stack.fault_proxy import FaultProxy, FaultRule

DYNAMODB = (
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "TransactGetItems",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
)
SQS = ("ChangeMessageVisibility", "DeleteMessage", "SendMessage", "SendMessageBatch")
# The publisher's dedup item: one per image announced.
ANNOUNCEMENTS = "- of which PutItem of an announcement's dedup item (publisher)"
# Label -> (method, X-Amz-Target, body) regular expressions, as FaultRule takes them.
COUNTED: dict[str, tuple[str, str, str | None]] = {
    **{f"DynamoDB {name}": (".*", rf"^DynamoDB_20120810\.{name}$", None) for name in DYNAMODB},
    ANNOUNCEMENTS: (
        ".*",
        r"^DynamoDB_20120810\.PutItem$",
        '"EVENT#',
    ),
    "- of which UpdateItem of a counter item": (".*", r"^DynamoDB_20120810\.UpdateItem$", '"COUNTER"'),
    **{f"SQS {name}": (".*", rf"^AmazonSQS\.{name}$", None) for name in SQS},
    "EventBridge PutEvents (publisher)": (".*", r"^AWSEvents\.PutEvents$", None),
    "Secrets Manager GetSecretValue": (".*", r"^secretsmanager\.GetSecretValue$", None),
    "S3 PUT (PutObject, UploadPart)": ("PUT", "^$", None),
    "S3 POST (multipart start and completion)": ("POST", "^$", None),
    "S3 GET, HEAD, DELETE": ("GET|HEAD|DELETE", "^$", None),
}


def install_counters(proxy: FaultProxy) -> dict[str, FaultRule]:
    """One counting rule per operation in COUNTED, on the proxy; none ever fails a request."""
    from local_stack.fault_proxy import FaultRule

    return {
        label: proxy.inject(FaultRule(method=method, target=target, body=body, times=0))
        for label, (method, target, body) in COUNTED.items()
    }


def calls_table(counts: Mapping[str, int], requests: int) -> str:
    """Calls per request, by operation (those seen at least once), and all of them."""
    lines = ["| AWS call (functions only, through the fault proxy) | calls per request |", "|---|---|"]
    total = 0
    for label, count in counts.items():
        if not count:
            continue
        if not label.startswith("- "):
            total += count
        lines.append(f"| {label} | {count / requests:.2f} |")
    lines.append(f"| all calls | {total / requests:.2f} |")
    return "\n".join(lines)
