"""The single-process bucket profiles: grouped by event hour, merge exactly under any
split, round-trip through the profiles document, refuse unreadable timestamps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charter.domain.canonical import canonical_bytes
from charter.domain.errors import BadInput
from charter.monitoring import profile_window
from charter.spark import merge, profile_rows, profiles_document, read_document
from tests.spark.support import START, records, reference


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261201)


def test_buckets_follow_event_time_and_merge_exactly(rng: np.random.Generator) -> None:
    ref = reference(rng)
    data = records(rng, 3_000)
    whole = profile_rows(ref, data)
    assert [s.isoformat() for s in whole] == [
        (START + pd.Timedelta(hours=h)).isoformat() for h in range(3)
    ]
    assert sum(b.rows for b in whole.values()) == 3_000
    first = next(iter(whole.values()))
    in_hour = data[data.timestamp.dt.floor("h") == START]
    # As ingestion profiles records: the label column is left out (labels are counted in
    # the labels profile).
    columns = list(dict.fromkeys([*ref.monitored, "region"]))
    assert first.profile == profile_window(ref, in_hour[columns])
    assert first.labels == profile_window(ref, in_hour[in_hour.label.notna()])
    assert first.labelled == int(in_hour.label.notna().sum())
    assert first.signals["rows"] == len(in_hour)
    assert first.signals["blocked"] == int(in_hour.blocked.sum())
    shuffled = data.sample(frac=1.0, random_state=3)
    parts = [profile_rows(ref, shuffled.iloc[i::4]) for i in range(4)]
    expected = canonical_bytes(profiles_document(ref, whole))
    assert canonical_bytes(profiles_document(ref, merge(*parts))) == expected
    assert (
        canonical_bytes(
            profiles_document(ref, merge(parts[3], merge(parts[1], parts[0]), parts[2]))
        )
        == expected
    )
    back = read_document(profiles_document(ref, whole, release="ab" * 32), ref)
    assert canonical_bytes(profiles_document(ref, back)) == expected


def test_generic_role_names_and_timestamp_forms(rng: np.random.Generator) -> None:
    ref = reference(rng)
    data = records(rng, 500, hours=1)
    generic = data.rename(columns={"pred": "prediction"})
    assert profiles_document(ref, profile_rows(ref, generic)) == profiles_document(
        ref, profile_rows(ref, data)
    )
    as_text = data.assign(timestamp=data.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    as_epoch = data.assign(timestamp=data.timestamp.astype("int64") / 1e9)
    for other in (as_text, as_epoch):
        assert profiles_document(ref, profile_rows(ref, other)) == profiles_document(
            ref, profile_rows(ref, data)
        )


def test_unreadable_timestamps_are_refused(rng: np.random.Generator) -> None:
    ref = reference(rng)
    data = records(rng, 50).astype({"timestamp": object})
    data.loc[7, "timestamp"] = "yesterday"
    with pytest.raises(BadInput, match="row 7"):
        profile_rows(ref, data)
    with pytest.raises(BadInput, match="timestamp"):
        profile_rows(ref, data.drop(columns="timestamp"))
    with pytest.raises(BadInput, match="another reference"):
        read_document(
            profiles_document(ref, profile_rows(ref, data.iloc[:5].assign(timestamp=START))),
            reference(rng),
        )
