"""The cross-language payload convention: args are a UTF-8 JSON array, a result is a UTF-8 JSON
value. Values JSON cannot carry are refused at enqueue, naming the problem."""

from __future__ import annotations

import json
from typing import Any, Sequence

from .errors import InvalidArgumentError


def encode_args(name: str, args: Sequence[Any]) -> bytes:
    try:
        return json.dumps(list(args), allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(
            f"args of {name!r} cannot be stored as JSON: {e}"
        ) from None


def encode_result(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()


def decode(data: bytes) -> Any:
    return json.loads(data.decode()) if data else None
