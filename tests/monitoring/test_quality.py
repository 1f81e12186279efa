"""Data quality per window: missing, non-finite, out-of-range, unseen and mistyped values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from charter.monitoring import QualityConfig, build_reference, check_quality, profile_window


def test_quality_report_names_each_kind_of_problem(rng: np.random.Generator) -> None:
    reference = build_reference(
        pd.DataFrame({"x": rng.normal(0, 1, 1_000), "c": rng.choice(["a", "b"], 1_000)})
    )
    window = pd.DataFrame(
        {
            "x": pd.Series([0.1, np.nan, np.nan, np.inf, 50.0, "text", 0.2, 0.3, 0.0, 0.5]),
            "c": ["a", "b", "new", None, "a", "b", "a", "b", "a", "a"],
        }
    )
    report = check_quality(reference, profile_window(reference, window))
    x = next(c for c in report.columns if c.column == "x")
    assert x.missing_share == 0.2 and x.pos_inf_share == 0.1 and x.type_error_share == 0.1
    assert x.out_of_range_share == 1 / 6
    assert set(x.issues) == {"missing", "non_finite", "out_of_range", "type_errors"}
    c = next(c for c in report.columns if c.column == "c")
    assert c.unseen_share == 1 / 9 and c.unseen_examples == ("new",)
    assert set(c.issues) == {"missing", "unseen"}
    json.dumps(report.to_dict(), allow_nan=False)


def test_clean_window_has_no_issues(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"x": rng.normal(0, 1, 2_000), "c": rng.choice(["a", "b"], 2_000)})
    reference = build_reference(frame.iloc[:1_000])
    report = check_quality(reference, profile_window(reference, frame.iloc[1_000:]))
    assert report.issues == {}
    lenient = QualityConfig(out_of_range=1.0)
    assert check_quality(reference, profile_window(reference, frame), lenient).issues == {}
