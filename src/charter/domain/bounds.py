"""Bounds every JSON-like input must respect, whether it arrives over HTTP or from a file.

One rule, checked in one place, before anything is written:

- nesting at most :data:`MAX_DEPTH` levels (a 1,000-level release ``config`` was once
  stored, after which every read of that system's releases failed);
- at most :data:`MAX_NODES` values in one document;
- numbers finite (JSON has no NaN or Infinity; Python's ``json`` accepts them anyway) and
  integers within 64 bits (SQLite's integers, and what every index column holds);
- no NUL character in any string or key (PostgreSQL cannot store it; SQLite can, so the two
  backends answered differently).

The walk is iterative, so a deep document cannot exhaust Python's stack while it is checked.
"""

from __future__ import annotations

import json
import math
from typing import Any

from charter.domain.errors import BadInput

#: Deepest nesting accepted (a mapping or list inside another counts one level).
MAX_DEPTH = 32
#: Most values (scalars and containers) in one document.
MAX_NODES = 2_000_000
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _where(path: tuple[Any, ...], source: str) -> str:
    text = source
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _check_text(text: str, path: tuple[Any, ...], source: str, what: str) -> None:
    if "\x00" in text:
        raise BadInput(f"{what} contains a NUL character", location=_where(path, source))


def check_value(value: Any, source: str = "$", *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse ``value`` unless it is within the bounds above; the error names where."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 0, ())]
    nodes = 0
    while stack:
        item, depth, path = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise BadInput(f"the document holds more than {MAX_NODES} values", location=source)
        if isinstance(item, str):
            _check_text(item, path, source, "a string")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not _INT64_MIN <= item <= _INT64_MAX:
                raise BadInput(
                    "integer out of range (64-bit signed)", location=_where(path, source)
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BadInput(f"{item} is not a finite number", location=_where(path, source))
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                raise BadInput(
                    f"nested deeper than {max_depth} levels", location=_where(path, source)
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str):
                        _check_text(key, path, source, "a key")
                    stack.append((child, depth + 1, (*path, key)))
            else:
                for index, child in enumerate(item):
                    stack.append((child, depth + 1, (*path, index)))


def refuse_constant(name: str) -> Any:
    """``json.loads(parse_constant=...)``: refuse NaN, Infinity and -Infinity."""
    raise BadInput(f"{name} is not a JSON number: send finite numbers only")


def load_json(data: bytes | str, source: str = "$", *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text and check it against the bounds; refuses NaN/Infinity literals.

    A document nested deeper than Python's recursion limit is refused as too deep rather
    than crashing the parser.
    """
    try:
        value = json.loads(data, parse_constant=refuse_constant)
    except RecursionError:
        raise BadInput(f"nested deeper than {max_depth} levels", location=source) from None
    except BadInput as exc:
        raise BadInput(exc.detail, location=source) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadInput(f"malformed JSON: {exc}", location=source) from None
    check_value(value, source, max_depth=max_depth)
    return value
