"""One local PySpark session (``local[2]``) for the Spark tests; skipped without pyspark."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A real local Spark (the machine's Java 17), two cores, no UI."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter, the one with Charter and pandas.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("charter-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "America/New_York")  # must not matter
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
        .getOrCreate()
    )
    yield session
    session.stop()
