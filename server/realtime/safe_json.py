"""The JSON module of `/room`'s engine.io and socket.io packets: `loads` refuses deep nesting.

The standard `json.loads` recurses once per `[` or `{`: a 40 KB frame of 20,000 `[` raises
RecursionError deep inside python-socketio, before any handler or limit sees it, with a traceback
logged per frame. No payload of the room nests deeper than a handful of levels, so anything past
MAX_DEPTH is refused as a ValueError, which the server counts as a malformed frame.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    """The text nests arrays or objects deeper than MAX_DEPTH."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, brackets inside strings not counted."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(text: str | bytes | bytearray, **kwargs: Any) -> Any:
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    # Counting is done in C by the regexes; only texts with enough brackets to matter are scanned.
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH:
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    return json.loads(text, **kwargs)


def dumps(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, **kwargs)
