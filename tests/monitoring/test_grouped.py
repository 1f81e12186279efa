"""Profiling many groups of rows in one pass equals profiling each group on its own, byte
for byte after canonical serialisation: binary with a cohort, multiclass, and messy data
(missing values, type errors, infinities, unseen categories, an absent label)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charter.domain.canonical import canonical_bytes
from charter.domain.errors import BadInput
from charter.monitoring import build_reference, merge_windows, profile_window
from charter.monitoring.grouped import group_codes, profile_groups
from tests.monitoring.conftest import mixed_frame
from tests.monitoring.multiclass_support import SCORES, scored


def _each(reference, data: pd.DataFrame, codes: np.ndarray, n: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [
        canonical_bytes(profile_window(reference, data[codes == g]).to_dict()) for g in range(n)
    ]


def _grouped(reference, data: pd.DataFrame, codes: np.ndarray, n: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [canonical_bytes(p.to_dict()) for p in profile_groups(reference, data, codes, n)]


def _binary(rng: np.random.Generator, n: int) -> pd.DataFrame:
    frame = mixed_frame(rng, n)
    frame["score"] = rng.random(n)
    frame["pred"] = (frame["score"] > 0.5).astype(int)
    frame["label"] = (rng.random(n) < frame["score"]).astype(int)
    return frame


def test_binary_with_cohort_and_messy_values(rng: np.random.Generator) -> None:
    reference = build_reference(
        _binary(rng, 3_000),
        features=["income", "age", "children", "region", "owner"],
        prediction="pred",
        score="score",
        label="label",
        cohort="region",
    )
    data = _binary(rng, 800)
    data["age"] = data["age"].astype(object)
    data.loc[::17, "age"] = "n/a"  # type errors in a numeric column
    data.loc[::13, "income"] = np.nan
    data.loc[5, "income"], data.loc[6, "income"] = np.inf, -np.inf
    data.loc[::11, "region"] = "mars"  # unseen categories (and an unseen cohort)
    data.loc[::19, "region"] = None
    data.loc[::7, "label"] = np.nan  # unlabelled rows
    data.loc[3, "score"] = np.nan
    codes = rng.integers(0, 20, len(data))
    codes[codes == 7] = 8  # a group with no rows
    assert _grouped(reference, data, codes, 20) == _each(reference, data, codes, 20)
    # Without the label column (labels arrive later) and with one row per group.
    unlabelled = data.drop(columns=["label"]).iloc[:30]
    codes = np.arange(30)
    assert _grouped(reference, unlabelled, codes, 30) == _each(reference, unlabelled, codes, 30)


def test_multiclass_and_merging(rng: np.random.Generator) -> None:
    reference = build_reference(
        scored(rng, 3_000),
        features=["x1", "x2", "group"],
        prediction="pred",
        label="label",
        cohort="group",
        class_scores=SCORES,
    )
    data = scored(rng, 1_000, shift=0.4)
    keys, starts = group_codes(pd.Series(rng.integers(0, 25, len(data))) * 3_600)
    assert len(starts) == 25
    grouped = profile_groups(reference, data, keys, len(starts))
    assert [canonical_bytes(p.to_dict()) for p in grouped] == _each(reference, data, keys, 25)
    # Still mergeable: the groups' profiles merge into the profile of all the rows.
    whole = profile_window(reference, data)
    assert canonical_bytes(merge_windows(*grouped).to_dict()) == canonical_bytes(whole.to_dict())


def test_mixed_python_objects_fall_back_and_bad_codes_are_refused(
    rng: np.random.Generator,
) -> None:
    reference = build_reference(mixed_frame(rng, 500), features=["income", "owner"])
    data = mixed_frame(rng, 200)[["income", "owner"]].astype({"owner": object})
    data.loc[::3, "owner"] = 1  # 1 == True: which one a group saw first sets its text
    data.loc[::5, "owner"] = [["a"]] * len(data.loc[::5])  # unhashable: type errors
    codes = np.arange(200) % 9
    assert _grouped(reference, data, codes, 9) == _each(reference, data, codes, 9)
    with pytest.raises(BadInput, match="group code"):
        profile_groups(reference, data, codes, 5)
