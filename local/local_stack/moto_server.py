"""`python -m local_stack.moto_server`: moto's server (same arguments) with the local stack's
patches to moto installed first (moto_transactions.py, moto_events.py, moto_streams.py,
moto_rendering.py, moto_sqs.py, moto_serving.py)."""

from __future__ import annotations

import sys

from moto.server import main as serve

from local_stack import moto_events, moto_rendering, moto_serving, moto_sqs, moto_streams, moto_transactions


def main(argv: list[str]) -> None:
    moto_transactions.install()
    moto_events.install()
    moto_streams.install()
    moto_rendering.install()
    moto_sqs.install()
    moto_serving.install()
    serve(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
