"""Waiting for what follows by seconds (the search index follows the table), instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    """``check()``'s first truthy answer, asked every 50 ms: the search index
    follows the table by seconds, so a test waits for it instead of sleeping."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            assert found, f"still not so after {timeout_s} s"
            return found
        time.sleep(0.05)
