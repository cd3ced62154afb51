"""Loaded by the moto servers of the retention sweep benchmark (through their PYTHONPATH): the
local stack's TransactWriteItems backup (local_stack.moto_transactions), installed in a moto that
the benchmark otherwise runs as shipped. The server's log says that the patch is in place."""

from __future__ import annotations

from local_stack.moto_transactions import MARKER as MARKER
from local_stack.moto_transactions import install

install()
