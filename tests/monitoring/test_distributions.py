"""Reference-versus-window distributions stored with each judged window, checked against
``numpy.histogram`` and ``pandas.value_counts`` on the raw rows of the car-loan data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from charter.domain.contracts.live import monitoring_plan, parse_live
from charter.monitoring import build_reference, profile_window
from charter.monitoring.distributions import coarse_groups
from charter.monitoring.drift import DriftConfig, detect_drift
from charter.monitoring.numeric import NumericColumn
from charter.monitoring.signal_counts import empty_signals
from charter.monitoring.verdict import judge_window
from tests.helpers import CAR_LOAN_FEATURES as FEATURES

from .conftest import CAR_LOAN, CAR_LOAN_TESTS

pytestmark = CAR_LOAN_TESTS
NUMERIC = ["car_value", "debt_to_income_ratio", "loan_length", "driver_tenure", "y_pred_proba"]
CATEGORICAL = ["salary_range", "repaid_loan_on_prev_car", "size_of_downpayment", "y_pred"]
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def judged() -> dict[str, object]:
    reference_data = pd.read_csv(CAR_LOAN / "synthetic_car_loan_reference.csv")
    analysis = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis.csv").sort_values("timestamp")
    reference = build_reference(
        reference_data,
        features=FEATURES,
        prediction="y_pred",
        score="y_pred_proba",
        cohort="salary_range",
    )
    # The last 5,000 rows: the drifted half of the analysis period, with missing and
    # infinite values and a category the reference never had mixed in.
    window_data = analysis.iloc[-5_000:].reset_index(drop=True)
    window_data.loc[:40, "car_value"] = np.nan
    window_data.loc[41:45, "car_value"] = np.inf
    window_data.loc[46:60, "salary_range"] = HOSTILE
    window = profile_window(reference, window_data)
    plan = monitoring_plan(parse_live({"min_sample": 100, "accuracy": ">= 0.7"}))
    verdict = judge_window(reference, plan, window, None, empty_signals()).to_dict()
    stored = json.loads(json.dumps(verdict))  # as the worker stores it (JSON column)
    return {
        "reference": reference,
        "reference_data": reference_data,
        "window_data": window_data,
        "window": window,
        "details": stored["drift"]["details"],
    }


def histogram_shares(values: pd.Series, edges: list[float]) -> np.ndarray:
    """Shares on Charter's coarse bins, by numpy.histogram on the raw finite values.

    Charter's last inner bin is closed at the reference maximum and the bin after it
    holds values above; numpy's bins are half-open, so a point bin just above the maximum
    is added and merged back into the last inner bin.
    """
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    bounds = [-np.inf, *edges, np.nextafter(edges[-1], np.inf), np.inf]
    counts, _ = np.histogram(x, bins=bounds)
    merged = [*counts[:-3], counts[-3] + counts[-2], counts[-1]]
    return np.asarray(merged, dtype=float) / x.size


@pytest.mark.parametrize("name", NUMERIC)
def test_numeric_shares_match_numpy_histogram(judged, name: str) -> None:
    distribution = judged["details"][name]["distribution"]
    edges = distribution["edges"]
    assert distribution["kind"] == "numeric"
    assert len(distribution["labels"]) == len(edges) + 1 == len(distribution["reference"])
    # Bounded by the coarse drift bins, not the ~110 fine KS bins.
    assert len(distribution["reference"]) <= DriftConfig().psi_bins + 2
    column = judged["reference"].columns[name]
    assert set(edges) <= set(column.edges.tolist())
    for side, data in (("reference", judged["reference_data"]), ("window", judged["window_data"])):
        expected = histogram_shares(data[name], edges)
        np.testing.assert_allclose(distribution[side], expected, rtol=1e-12, atol=1e-15)
        assert sum(distribution[side]) == pytest.approx(1.0, abs=1e-12)


def test_numeric_bins_are_reference_quantiles_and_leave_out_missing(judged) -> None:
    distribution = judged["details"]["car_value"]["distribution"]
    reference = np.asarray(distribution["reference"])
    # Nothing of the reference lies outside its own range; inside, equal-mass deciles.
    assert reference[0] == reference[-1] == 0.0
    assert len(reference) == 12
    np.testing.assert_allclose(reference[1:-1], 0.1, atol=0.01)
    # Each inner edge starts the first fine (KS) bin with at least k/10 of the reference
    # below it, so it sits at the k-th decile to within one fine bin's mass.
    data = judged["reference_data"]["car_value"].to_numpy()
    counts = judged["reference"].columns["car_value"].reference.counts
    fine_bin = counts.max() / counts.sum()
    below = np.array([(data < edge).mean() for edge in distribution["edges"][1:-1]])
    levels = np.arange(1, 10) / 10
    assert ((below >= levels - 1e-12) & (below <= levels + fine_bin)).all(), below
    # 41 missing and 5 infinite values are data-quality signals, not part of the shares.
    assert distribution["excluded_window"] == 46
    assert distribution["n_window"] == 5_000 - 46
    # The window drifted: its shares move away from the reference's deciles.
    assert judged["details"]["car_value"]["status"] == "drift"
    assert max(abs(np.asarray(distribution["window"]) - reference)) > 0.03


@pytest.mark.parametrize("name", NUMERIC)
def test_coarse_bins_are_the_ones_psi_uses(judged, name: str) -> None:
    # PSI recomputed from the stored shares (times n) equals the one the drift test computed.
    from charter.monitoring.stats import psi

    config = DriftConfig()
    effects = detect_drift(judged["reference"], judged["window"], config).column(name).effects
    distribution = judged["details"][name]["distribution"]
    ref = np.asarray(distribution["reference"]) * distribution["n_reference"]
    win = np.asarray(distribution["window"]) * distribution["n_window"]
    np.testing.assert_allclose(ref, np.rint(ref), atol=1e-6)
    recomputed = psi(
        np.rint(ref).astype(np.int64), np.rint(win).astype(np.int64), floor=config.psi_floor
    )
    assert recomputed == pytest.approx(effects["psi"], rel=1e-9)
    column: NumericColumn = judged["reference"].columns[name]
    index = coarse_groups(column.reference.counts, config.psi_bins)
    assert len(np.unique(index)) == len(distribution["labels"])


@pytest.mark.parametrize("name", CATEGORICAL)
def test_categorical_shares_match_value_counts(judged, name: str) -> None:
    distribution = judged["details"][name]["distribution"]
    labels = distribution["labels"]
    assert distribution["kind"] == "categorical"
    assert labels[-2:] == ["<other>", "<unseen>"]
    reference_names = set(judged["reference_data"][name].dropna().map(str))
    for side, data in (("reference", judged["reference_data"]), ("window", judged["window_data"])):
        raw = data[name].dropna().map(str)
        shares = raw.value_counts(normalize=True)
        unseen = float(shares[~shares.index.isin(reference_names)].sum())
        expected = [float(shares.get(label, 0.0)) for label in labels[:-2]] + [0.0, unseen]
        np.testing.assert_allclose(distribution[side], expected, rtol=1e-12, atol=1e-15)
        assert sum(distribution[side]) == pytest.approx(1.0, abs=1e-12)


def test_unseen_category_is_counted(judged) -> None:
    distribution = judged["details"]["salary_range"]["distribution"]
    assert distribution["window"][-1] == pytest.approx(15 / 5_000)
    assert distribution["reference"][-1] == 0.0
