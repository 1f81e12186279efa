"""Reference and window profiles: mergeability, serialisation, data-quality counting."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.domain.canonical import canonical_json, content_digest
from charter.domain.errors import BadInput
from charter.monitoring import (
    ReferenceProfile,
    WindowProfile,
    build_reference,
    empty_window,
    merge_windows,
    profile_window,
    update_window,
)
from charter.monitoring.numeric import NumericSummary

from .conftest import mixed_frame


def _labelled(rng: np.random.Generator, n: int) -> pd.DataFrame:
    frame = mixed_frame(rng, n)
    score = 1 / (1 + np.exp(-(frame["age"] - 40) / 10))
    frame["score"] = np.round(score, 3)
    frame["pred"] = (frame["score"] > 0.5).astype(int)
    frame["label"] = (rng.random(n) < score).astype(int)
    return frame


@pytest.fixture
def reference(rng: np.random.Generator) -> ReferenceProfile:
    return build_reference(
        _labelled(rng, 5_000),
        features=["income", "age", "children", "region", "owner"],
        prediction="pred",
        score="score",
        label="label",
        cohort="region",
    )


def test_merge_equals_profile_of_concatenation(
    reference: ReferenceProfile, rng: np.random.Generator
) -> None:
    data = _labelled(rng, 3_000)
    data.loc[::17, "income"] = np.nan
    data.loc[::29, "age"] = np.inf
    data.loc[::31, "region"] = "nowhere"
    parts = [data.iloc[:700], data.iloc[700:701], data.iloc[701:2000], data.iloc[2000:]]
    whole = profile_window(reference, data)
    pieces = [profile_window(reference, p) for p in parts]
    assert merge_windows(*pieces) == whole
    assert merge_windows(*reversed(pieces)) == whole
    assert merge_windows(merge_windows(pieces[0], pieces[2]), pieces[3], pieces[1]) == whole
    # Bit-for-bit: the same content digest whatever the order.
    assert content_digest(merge_windows(*reversed(pieces)).to_dict()) == content_digest(
        whole.to_dict()
    )
    window = None
    for part in parts:
        window = update_window(reference, window, part)
    assert window == whole
    assert merge_windows(empty_window(reference), whole) == whole


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
value = st.one_of(finite, st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    xs=st.lists(value, min_size=0, max_size=60),
    cats=st.lists(st.sampled_from(["a", "b", "c", "zz", None]), min_size=60, max_size=60),
    cut=st.integers(min_value=0, max_value=60),
)
def test_merge_is_exact_for_any_split(xs: list[float], cats: list[str | None], cut: int) -> None:
    base = pd.DataFrame({"x": np.linspace(-5, 5, 50), "c": ["a", "b"] * 25})
    reference = build_reference(base, bins=8)
    data = pd.DataFrame({"x": pd.Series(xs, dtype=float), "c": cats[: len(xs)]})
    cut = min(cut, len(xs))
    a = profile_window(reference, data.iloc[:cut])
    b = profile_window(reference, data.iloc[cut:])
    whole = profile_window(reference, data)
    assert merge_windows(a, b) == whole
    assert merge_windows(b, a) == whole
    assert WindowProfile.from_dict(whole.to_dict(), reference) == whole


def test_profiles_serialise_to_canonical_json_and_back(
    reference: ReferenceProfile, rng: np.random.Generator
) -> None:
    data = _labelled(rng, 1_000)
    data.loc[::3, "income"] = -np.inf
    window = profile_window(reference, data)
    for payload in (reference.to_dict(), window.to_dict()):
        text = canonical_json(payload)  # refuses NaN and infinities
        assert json.loads(text) == json.loads(json.dumps(payload))
    again = ReferenceProfile.from_dict(json.loads(json.dumps(reference.to_dict())))
    assert again.digest == reference.digest
    assert WindowProfile.from_dict(json.loads(json.dumps(window.to_dict())), again) == window


def test_data_quality_values_are_counted_not_dropped(reference: ReferenceProfile) -> None:
    data = pd.DataFrame(
        {
            "income": pd.Series([1.0, np.nan, np.inf, -np.inf, "oops", 2e9], dtype=object),
            "age": [30.0, 40.0, 50.0, 60.0, 70.0, 500.0],
            "children": [0, 1, 2, 3, 4, 5],
            "region": ["north", None, "mars", "south", "venus", "mars"],
            "owner": [True, False, None, True, True, False],
            "score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "pred": [0, 0, 0, 0, 1, 1],
        }
    )
    window = profile_window(reference, data)
    income = window.columns["income"]
    assert isinstance(income, NumericSummary)
    assert (income.n, income.missing, income.pos_inf, income.neg_inf, income.type_errors) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert income.rows == 6
    assert income.counts[-1] == 1  # 2e9 lies above the reference range
    region = window.columns["region"]
    assert region.unseen == 3 and region.missing == 1
    assert region.unseen_examples == ("mars", "venus")
    label = window.columns["label"]  # the label column is absent: all missing
    assert label.missing == 6 and label.n == 0


def test_numeric_moments_are_exact(rng: np.random.Generator) -> None:
    values = rng.normal(1e6, 3.0, 10_000)
    profile = build_reference(pd.DataFrame({"x": values}))
    column = profile.columns["x"]
    summary = column.reference
    assert isinstance(summary, NumericSummary)
    assert summary.mean() == pytest.approx(float(np.mean(values)), rel=1e-15)
    assert summary.variance(column.pivot) == pytest.approx(float(np.var(values, ddof=1)), rel=1e-9)
    assert (summary.minimum, summary.maximum) == (values.min(), values.max())


def test_categories_beyond_the_cap_fold_into_other(rng: np.random.Generator) -> None:
    names = [f"c{i:03d}" for i in range(300)]
    data = pd.DataFrame({"c": rng.choice(names, 20_000)})
    profile = build_reference(data, max_categories=20)
    column = profile.columns["c"]
    assert len(column.categories) == 20
    assert column.reference.counts[-2] > 0  # other
    window = profile_window(profile, pd.DataFrame({"c": ["c299", "brand-new"]}))
    counts = window.columns["c"].counts
    kept = "c299" in column.categories
    assert counts[-1] == 1 and counts[-2] == (0 if kept else 1)


def test_bad_inputs_are_refused(reference: ReferenceProfile) -> None:
    with pytest.raises(BadInput):
        build_reference(pd.DataFrame())
    with pytest.raises(BadInput):
        build_reference(pd.DataFrame({"x": [1.0]}), features=["y"])
    with pytest.raises(BadInput):
        build_reference(pd.DataFrame({"x": [np.nan, np.inf]}))
    with pytest.raises(BadInput):
        profile_window(reference, pd.DataFrame({"income": [1.0]}))
    with pytest.raises(BadInput):
        ReferenceProfile.from_dict({"format": "something else"})
    other = build_reference(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    with pytest.raises(BadInput):
        merge_windows(empty_window(reference), empty_window(other))
    with pytest.raises(BadInput):
        WindowProfile.from_dict(empty_window(other).to_dict(), reference)
