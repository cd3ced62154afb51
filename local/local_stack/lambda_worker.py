"""One local execution environment: `python -m local_stack.lambda_worker <fd>`.

Started by lambda_runtime with a socket on <fd>. Receives its FunctionSpec, runs the function's
init (imports: the cold start), then serves invocations one at a time until the socket closes.
The process environment is the function's own (set by the parent); stdout and stderr are the
function's log, as CloudWatch Logs would get them.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection

from local_stack.functions import FunctionSpec


class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(
        self, spec: FunctionSpec, request_id: str, deadline: float, region: str, account: str
    ) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{spec.function_name}"
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"local/{os.getpid()}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def serve(connection: Connection) -> None:
    spec: FunctionSpec = connection.recv()
    for path in (*(str(layer) for layer in spec.layer_dirs), str(spec.code_dir)):
        sys.path.insert(0, path)
    module_name, function_name = spec.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), function_name)
    connection.send(("ready", None))  # init is over: the invocation's timeout starts now
    region = os.environ.get("AWS_REGION", "us-east-1")
    account = os.environ.get("LOCAL_ACCOUNT_ID", "123456789012")
    while True:
        try:
            event, request_id, timeout_seconds = connection.recv()
        except EOFError:
            return
        deadline = time.time() + timeout_seconds  # the clock starts after init, as in Lambda
        context = LocalLambdaContext(spec, request_id, deadline, region, account)
        try:
            connection.send(("ok", handler(event, context)))
        except Exception as error:
            # Like Lambda: the trace goes to the function's log, the caller sees only the type.
            traceback.print_exc()
            connection.send(("error", (type(error).__name__, str(error))))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


def main() -> None:
    # Ctrl-C reaches the whole process group; the stack ends its environments itself (EOF).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
