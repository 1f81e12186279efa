"""Read evaluation data sets (CSV, Parquet, JSONL) with a size limit and a content digest.

The file is read into memory once, hashed, and parsed from those same bytes, so the
SHA-256 recorded as evidence is exactly the content that was evaluated (no window in which
the file could change between hashing and parsing).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from charter.domain.errors import BadInput, PayloadTooLarge

TableFormat = Literal["csv", "parquet", "jsonl"]

#: Default ceiling on the size of a data file: 1 GiB. Parsing needs several times the file
#: size in memory, so larger files should be sampled (or the limit raised deliberately).
DEFAULT_MAX_BYTES = 1024**3

_EXTENSIONS: dict[str, TableFormat] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


@dataclass(frozen=True)
class Dataset:
    """A loaded data set: the frame plus the facts recorded as evidence about the file."""

    frame: pd.DataFrame
    name: str
    format: TableFormat
    size_bytes: int
    sha256: str

    def info(self) -> dict[str, Any]:
        """Return the JSON-able description stored in a result's ``dataset`` section."""
        return {
            "name": self.name,
            "format": self.format,
            "bytes": self.size_bytes,
            "sha256": self.sha256,
            "rows": len(self.frame),
            "columns": len(self.frame.columns),
        }


def human_bytes(size: int) -> str:
    """Format a byte count for people: ``1.0 GiB``, ``512 KiB``, ``17 bytes``."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - loop always returns


def table_format(path: Path, declared: str | None = None) -> TableFormat:
    """Return the format of ``path``: the declared one, or the one its extension names."""
    if declared is not None:
        if declared not in ("csv", "parquet", "jsonl"):
            raise BadInput(
                f"unknown data format {declared!r}; supported formats are csv, parquet, jsonl"
            )
        return declared  # type: ignore[return-value]
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    supported = ", ".join(sorted(_EXTENSIONS))
    raise BadInput(
        f"cannot tell the format of {path.name!r} from its extension; "
        f"use one of {supported} (or pass the format explicitly)"
    )


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read the whole file after checking it exists, is not empty and is within the limit."""
    if not path.exists():
        raise BadInput(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise BadInput(f"data file {str(path)!r} is not a regular file")
    size = path.stat().st_size
    # Checked before reading a single byte, so an oversized file costs nothing.
    if size > max_bytes:
        raise PayloadTooLarge(
            f"data file {path.name!r} is {human_bytes(size)} ({size} bytes), over the "
            f"limit of {human_bytes(max_bytes)} ({max_bytes} bytes); evaluate a sample "
            "of the rows, or raise the limit (max_bytes) if the machine has the memory"
        )
    if size == 0:
        raise BadInput(f"data file {path.name!r} is empty")
    data = path.read_bytes()
    if len(data) > max_bytes:  # the file grew after stat()
        raise PayloadTooLarge(
            f"data file {path.name!r} grew past the limit of {human_bytes(max_bytes)} "
            "while it was being read"
        )
    return data


def parse_table(data: bytes, fmt: TableFormat, *, name: str = "data") -> pd.DataFrame:
    """Parse the bytes of a CSV, Parquet or JSONL file into a DataFrame.

    Raises BadInput naming the file and the parser's complaint when the content is not
    valid in that format, or when it holds no rows or no columns.
    """
    buffer = io.BytesIO(data)
    try:
        if fmt == "csv":
            frame = pd.read_csv(buffer)
        elif fmt == "parquet":
            frame = pd.read_parquet(buffer)
        else:
            frame = pd.read_json(buffer, lines=True)
    except pd.errors.EmptyDataError as exc:
        raise BadInput(f"{name!r} has no columns or rows to read ({fmt})") from exc
    except (ValueError, UnicodeDecodeError, OSError, pd.errors.ParserError) as exc:
        # pyarrow's ArrowInvalid subclasses ValueError; a truncated Parquet file raises OSError.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"{name!r} is not a valid {fmt} file: {first_line}") from exc
    if not isinstance(frame, pd.DataFrame):  # pragma: no cover - defensive
        raise BadInput(f"{name!r} did not parse into a table")
    if frame.shape[1] == 0:
        raise BadInput(f"{name!r} has no columns")
    if frame.shape[0] == 0:
        raise BadInput(f"{name!r} has a header but no rows")
    frame.columns = [str(column) for column in frame.columns]
    return frame


def load_dataset(
    path: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    format: str | None = None,
) -> Dataset:
    """Load a data file into a :class:`Dataset` (frame, format, size and SHA-256).

    The format comes from the extension (``.csv``, ``.parquet``/``.pq``,
    ``.jsonl``/``.ndjson``) unless given. Raises :class:`PayloadTooLarge` when the file is
    larger than ``max_bytes`` (checked before reading) and :class:`BadInput` for a missing,
    empty, unparsable or unknown-format file.
    """
    if max_bytes <= 0:
        raise BadInput(f"max_bytes must be positive, got {max_bytes}")
    file_path = Path(path)
    fmt = table_format(file_path, format)
    data = _read_bytes(file_path, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    frame = parse_table(data, fmt, name=file_path.name)
    return Dataset(
        frame=frame, name=file_path.name, format=fmt, size_bytes=len(data), sha256=digest
    )


def load_table(
    path: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    format: str | None = None,
) -> pd.DataFrame:
    """Load a CSV, Parquet or JSONL file into a DataFrame (see :func:`load_dataset`)."""
    return load_dataset(path, max_bytes=max_bytes, format=format).frame


def file_sha256(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
