"""A local Ideogram API emulator, faithful to Ideogram's vendored OpenAPI spec (openapi.json).

`start_emulator(EmulatorSettings(api_key="k"), host="127.0.0.1", port=0)` serves it in a background
thread and returns a `RunningEmulator` with `url`, the live `settings` (fault switches apply to the
next request; they are also readable and writable over HTTP at /_emulator/faults) and `stop()`.
`python -m local_stack.ideogram --help` runs it in the foreground.
"""

from local_stack.ideogram.server import RunningEmulator, start_emulator
from local_stack.ideogram.settings import EmulatorSettings

__all__ = ["EmulatorSettings", "RunningEmulator", "start_emulator"]
