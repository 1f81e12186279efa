"""Spark profiling: hourly bucket profiles of N x 25 rows on local[2] against one process.

    .venv/bin/python benchmarks/spark/run.py                  # 10,000,000 rows
    .venv/bin/python benchmarks/spark/run.py --quick          # 100,000 rows
    .venv/bin/python benchmarks/spark/run.py --rows 2000000 --hours 24

Writes N synthetic rows (20 numeric and 5 categorical columns, event timestamps over
``--hours`` hours) to a Parquet file, then profiles them twice: in this process
(Parquet batches of 500,000 rows through ``charter.spark.profile_rows`` and ``merge``) and
on a real local Spark with two cores (``charter.spark.profile_frame`` on
``spark.read.parquet``). Both documents must be byte-identical after canonical
serialisation (the run refuses to report otherwise). It also times Spark's sketch
aggregate ``percentile_approx`` for the numeric columns' reference bin edges and measures
its rank error against exact quantiles. Needs pyspark (the ``spark`` extra) and Java 17.
Figures: docs/benchmarks.md, "Spark profiling".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import os
import tempfile
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import bounded, expect, main, missing_peer, print_table

QUICK = {"rows": 100_000, "hours": 4}
NUMERIC, CATEGORICAL = 20, 5
CHUNK = 500_000
LEVELS = [i / 100 for i in range(1, 100)]


def chunk(seed: int, n: int, start: float, span: float) -> Any:
    """``n`` rows whose timestamps run from ``start`` over ``span`` seconds."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {
        f"num_{i}": rng.normal(i, 1 + i % 3, n) if i % 4 else rng.lognormal(0, 1, n)
        for i in range(NUMERIC)
    }
    for i in range(CATEGORICAL):
        data[f"cat_{i}"] = rng.choice(np.array([f"c{j}" for j in range(4 + 4 * i)]), n)
    seconds = start + np.sort(rng.uniform(0, span, n))
    data["timestamp"] = pd.to_datetime(seconds, unit="s", utc=True).floor("us")
    return pd.DataFrame(data)


def write_parquet(path: Path, rows: int, hours: int) -> float:
    """Write the rows in time order; returns the seconds it took."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    base = 1_795_000_000.0 - 1_795_000_000.0 % 3600
    span = hours * 3600.0
    writer = None
    for index, offset in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - offset)
        part = chunk(index + 1, n, base + span * offset / rows, span * n / rows)
        table = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema, coerce_timestamps="us")
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return time.perf_counter() - started


def body(args: Namespace) -> dict[str, Any]:
    """Profile the same Parquet rows in one process and on Spark; compare."""
    import numpy as np
    import pyarrow.parquet as pq

    from charter.domain.canonical import canonical_bytes
    from charter.monitoring import build_reference
    from charter.spark import merge, profile_frame, profile_rows, profiles_document

    figures: dict[str, Any] = {"rows": args.rows, "columns": NUMERIC + CATEGORICAL}
    figures["hours"] = args.hours
    reference = build_reference(chunk(0, 50_000, 0.0, 1.0).drop(columns="timestamp"))
    with tempfile.TemporaryDirectory(prefix="charter-spark-") as tmp:
        path = Path(tmp) / "records.parquet"
        figures["write_parquet_s"] = write_parquet(path, args.rows, args.hours)

        started = time.perf_counter()
        parts = []
        for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
            parts.append(profile_rows(reference, batch.to_pandas()))
        direct = profiles_document(reference, merge(*parts))
        figures["single_process_s"] = time.perf_counter() - started

        os.environ["PYSPARK_PYTHON"] = sys.executable
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F  # noqa: N812

        started = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("charter-benchmark")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "4g")
            .config("spark.sql.shuffle.partitions", "2")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        figures["spark_session_s"] = time.perf_counter() - started
        try:
            frame = spark.read.parquet(str(path))
            figures["partitions"] = frame.rdd.getNumPartitions()
            started = time.perf_counter()
            on_spark = profiles_document(reference, profile_frame(frame, reference))
            figures["spark_s"] = time.perf_counter() - started
            expect(
                canonical_bytes(on_spark) == canonical_bytes(direct),
                "Spark profiles equal the single-process profiles byte for byte",
            )
            figures["buckets"] = len(on_spark["buckets"])
            numeric = [f"num_{i}" for i in range(NUMERIC)]
            started = time.perf_counter()
            approx = frame.agg(
                *[F.percentile_approx(c, LEVELS, 10_000).alias(c) for c in numeric]
            ).collect()[0]
            figures["spark_percentile_approx_s"] = time.perf_counter() - started
        finally:
            spark.stop()
        started = time.perf_counter()
        errors = []
        for name in numeric:
            values = np.sort(pq.read_table(path, columns=[name]).column(0).to_numpy())
            ranks = np.searchsorted(values, np.asarray(approx[name]), side="left") / len(values)
            errors.append(float(np.max(np.abs(ranks - np.asarray(LEVELS)))))
        figures["exact_quantiles_s"] = time.perf_counter() - started
        figures["percentile_approx_max_rank_error"] = max(errors)
    rate = args.rows / figures["spark_s"]
    figures["spark_rows_per_s"] = rate
    figures["single_process_rows_per_s"] = args.rows / figures["single_process_s"]
    print_table(
        f"Hourly bucket profiles of {args.rows:,} x 25 rows over {args.hours} hours "
        f"({figures['buckets']} buckets); byte-identical documents",
        ["path", "seconds", "rows/s"],
        [
            [
                "one process (Parquet batches of 500,000)",
                figures["single_process_s"],
                figures["single_process_rows_per_s"],
            ],
            [f"Spark local[2], {figures['partitions']} partitions", figures["spark_s"], rate],
            ["(Spark session start)", figures["spark_session_s"], ""],
            ["(writing the Parquet file)", figures["write_parquet_s"], ""],
        ],
    )
    print_table(
        "Reference bin edges (99 quantiles of 20 numeric columns)",
        ["method", "seconds", "max rank error"],
        [
            [
                "Spark percentile_approx (accuracy 10,000)",
                figures["spark_percentile_approx_s"],
                f"{figures['percentile_approx_max_rank_error']:.1e}",
            ],
            ["exact: NumPy sort per column, one process", figures["exact_quantiles_s"], 0.0],
        ],
    )
    return figures


def configure(parser: ArgumentParser) -> None:
    """The Spark benchmark's options."""
    parser.add_argument("--rows", type=bounded(int, 1_000, 100_000_000), default=10_000_000)
    parser.add_argument("--hours", type=bounded(int, 1, 10_000), default=24)


def check(args: Namespace) -> str | None:
    """Refuse to run without pyspark."""
    return missing_peer("pyspark", hint="pip install 'charter[spark]'")


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK, check=check)
