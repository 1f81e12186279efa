"""Profiles computed on a real local PySpark equal, byte for byte after canonical
serialisation, the profiles of the same rows in one process."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from charter.domain.canonical import canonical_bytes
from charter.domain.errors import BadInput
from charter.spark import profile_frame, profile_rows, profiles_document
from tests.spark.support import records, reference

# PySpark 4 warns that it does not fully support pandas 3; what it does here is tested.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.slow,
]


def test_spark_profiles_equal_single_process_profiles(spark: Any) -> None:
    rng = np.random.default_rng(11)
    ref = reference(rng)
    data = records(rng, 4_000, shift=0.3)
    # Five partitions of 500-row Arrow batches: hours are split across many pieces.
    frame = spark.createDataFrame(data).repartition(5)
    buckets = profile_frame(frame, ref, rows_per_profile=700)  # merges inside tasks too
    document = profiles_document(ref, buckets, release="ab" * 32, environment="prod")
    direct = profiles_document(ref, profile_rows(ref, data), release="ab" * 32, environment="prod")
    assert len(document["buckets"]) == 3
    assert canonical_bytes(document) == canonical_bytes(direct)


def test_labels_join_in_spark(spark: Any) -> None:
    rng = np.random.default_rng(12)
    ref = reference(rng)
    data = records(rng, 1_500)
    labels = data.loc[data.label.notna(), ["inference_id", "label"]]
    unlabelled = data.drop(columns="label")
    buckets = profile_frame(
        spark.createDataFrame(unlabelled).repartition(3), ref, labels=spark.createDataFrame(labels)
    )
    assert canonical_bytes(profiles_document(ref, buckets)) == canonical_bytes(
        profiles_document(ref, profile_rows(ref, data))
    )
    with pytest.raises(BadInput, match="timestamp"):
        profile_frame(spark.createDataFrame(unlabelled.drop(columns="timestamp")), ref)
