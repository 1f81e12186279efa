"""Category counting of Arrow string columns matches pandas' own ``value_counts``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from charter.monitoring.categorical import CategoricalColumn, category_counts


def _reference_counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts(dropna=True, sort=False).items()}


def _chunked(*chunks: list[str | None]) -> pd.Series:
    array = pa.chunked_array([pa.array(c, pa.large_string()) for c in chunks])
    return pd.Series(pd.arrays.ArrowStringArray(array))


def test_chunked_arrow_strings_count_like_value_counts() -> None:
    # Later chunks' dictionaries repeat earlier texts they do not hold ("a" in chunk 2).
    series = _chunked(["a", "b", "a"], ["c", "c"], ["b", "d"])
    counts, missing, type_errors = category_counts(series)
    assert counts == {"a": 2, "b": 2, "c": 2, "d": 1}
    assert counts == _reference_counts(series)
    assert (missing, type_errors) == (0, 0)


def test_missing_values_fall_back_and_count() -> None:
    series = _chunked(["a", None], ["b", "a"])
    counts, missing, _ = category_counts(series)
    assert counts == {"a": 2, "b": 1}
    assert missing == 1


def test_window_absent_category_is_not_an_unseen_example() -> None:
    column = CategoricalColumn.fit("c", _chunked(["a", "b"]), max_categories=1)
    window = column.summarise(_chunked(["a", "z"], ["a"], ["a"]))
    assert window.unseen_examples == ("z",)
    assert window.counts.tolist() == [3, 0, 1]


def test_random_large_column_matches(rng: np.random.Generator) -> None:
    labels = np.asarray([f"cat_{i}" for i in range(40)])
    texts = labels[rng.integers(0, 40, 50_000)].tolist()
    series = _chunked(*(texts[i : i + 7_000] for i in range(0, len(texts), 7_000)))
    assert category_counts(series)[0] == _reference_counts(series)
