"""`python -m local_stack.ideogram`: serve the emulator in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from local_stack.ideogram.server import start_emulator
from local_stack.ideogram.settings import DEFAULT_API_KEY, EmulatorSettings

API_KEY_ENVIRONMENT = "IDEOGRAM_EMULATOR_API_KEY"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = EmulatorSettings()
    parser = argparse.ArgumentParser(prog="python -m local_stack.ideogram", description=__doc__)
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    add("--port", type=int, default=8090, help="port to bind, 0 for a free one (default %(default)s)")
    add(
        "--api-key",
        default=os.environ.get(API_KEY_ENVIRONMENT, DEFAULT_API_KEY),
        help=f"the key clients must send in Api-Key (default: ${API_KEY_ENVIRONMENT} or the built-in key)",
    )
    add("--public-base-url", default=None, help="scheme://host:port for image URLs (default: the Host used)")
    add("--url-ttl-seconds", type=int, default=defaults.url_ttl_seconds)
    add("--inflight-limit", type=int, default=defaults.inflight_limit, help="images in flight before 429")
    add("--safety-pattern", default=defaults.safety_pattern, help="prompt regex answered with 422")
    add("--unsafe-pattern", default=defaults.unsafe_pattern, help="prompt regex giving unsafe images")
    add("--latency-seconds", type=float, default=defaults.latency_seconds)
    add("--download-bandwidth-bps", type=int, default=defaults.download_bandwidth_bps, help="0 = unlimited")
    add("--error-rate-5xx", type=float, default=defaults.error_rate_5xx, help="0..1")
    add("--truncate-download", action="store_true")
    add("--wrong-content-type", action="store_true")
    add("--huge-image-bytes", type=int, default=defaults.huge_image_bytes)
    add("--quiet", action="store_true", help="no per-request log lines")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = EmulatorSettings(
        api_key=args.api_key,
        public_base_url=args.public_base_url,
        log_requests=not args.quiet,
        url_ttl_seconds=args.url_ttl_seconds,
        inflight_limit=args.inflight_limit,
        safety_pattern=args.safety_pattern,
        unsafe_pattern=args.unsafe_pattern,
        latency_seconds=args.latency_seconds,
        download_bandwidth_bps=args.download_bandwidth_bps,
        error_rate_5xx=args.error_rate_5xx,
        truncate_download=args.truncate_download,
        wrong_content_type=args.wrong_content_type,
        huge_image_bytes=args.huge_image_bytes,
    )
    emulator = start_emulator(settings, host=args.host, port=args.port)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    print(f"Ideogram emulator listening on {emulator.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        while not stopping.wait(0.5):  # a timed wait keeps Ctrl-C responsive
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        print("Ideogram emulator stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
