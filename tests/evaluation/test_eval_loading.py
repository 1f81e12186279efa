"""Loading data files and model callables: formats, limits and every bad-input case."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.evaluation.support import GERMAN_CSV

from charter.domain.errors import BadInput, PayloadTooLarge
from charter.evaluation import (
    EstimatorModel,
    FunctionModel,
    file_sha256,
    load_dataset,
    load_model,
    load_table,
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_reads_every_format_with_its_digest(tmp_path: Path, suffix: str) -> None:
    frame = pd.read_csv(GERMAN_CSV).head(50)
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    dataset = load_dataset(path)
    pd.testing.assert_frame_equal(dataset.frame, frame, check_dtype=False)
    assert dataset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == file_sha256(path)
    assert dataset.info()["rows"] == 50 and dataset.info()["format"] == suffix[1:]
    assert len(load_table(path)) == 50


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:  # a sparse 2 GB file: costs no disk or memory
        handle.truncate(2 * 1000**3)
    with pytest.raises(PayloadTooLarge, match=r"huge.csv' is 1.9 GiB .* over the limit of 1.0 GiB"):
        load_table(huge)
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n")
    with pytest.raises(PayloadTooLarge, match="max_bytes"):
        load_table(small, max_bytes=4)
    assert len(load_table(small, max_bytes=1000)) == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.xlsx", b"x", "cannot tell the format"),
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b\n", "no rows"),
        ("blank.csv", b"\n\n", "no columns or rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", "not a valid csv"),
        ("bad.parquet", b"PAR1 not really", "not a valid parquet"),
        ("bad.jsonl", b'{"a": 1}\n{"a": \n', "not a valid jsonl"),
        ("binary.csv", b"\xff\xfe\x00\x01\x02", "not a valid csv"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message):
        load_table(path)


def test_missing_file_and_explicit_format(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        load_table(tmp_path / "nope.csv")
    path = tmp_path / "data.txt"
    path.write_text("a\n1\n")
    assert len(load_table(path, format="csv")) == 1
    with pytest.raises(BadInput, match="unknown data format"):
        load_table(path, format="xml")


def _double(frame: pd.DataFrame) -> np.ndarray:
    return frame.iloc[:, 0].to_numpy() * 2


def test_load_model_from_import_reference() -> None:
    model = load_model("tests.evaluation.test_eval_loading:_double")
    assert isinstance(model, FunctionModel)
    assert model.predict(pd.DataFrame({"x": [1, 2]})).tolist() == [2, 4]
    with pytest.raises(BadInput, match="package.module:function"):
        load_model("no_colon_here")
    with pytest.raises(BadInput, match="cannot import module"):
        load_model("charter_no_such_module:f")
    with pytest.raises(BadInput, match="has no attribute"):
        load_model("charter.evaluation:nothing_here")


def test_load_model_from_a_trusted_pickle(tmp_path: Path) -> None:
    frame = pd.read_csv(GERMAN_CSV)
    estimator = LogisticRegression(max_iter=1000).fit(frame[["age", "duration"]], frame["risk"])
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(estimator))
    model = load_model(path)
    assert isinstance(model, EstimatorModel)
    proba = model.predict_proba(frame[["age", "duration"]])
    assert proba is not None and np.allclose(
        proba, estimator.predict_proba(frame[["age", "duration"]])
    )
    assert list(model.classes or []) == [0, 1]
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(BadInput, match="cannot load model file"):
        load_model(tmp_path / "junk.joblib")
    with pytest.raises(BadInput, match="does not exist"):
        load_model(tmp_path / "missing.pkl")
    with pytest.raises(PayloadTooLarge):
        load_model(path, max_bytes=10)


def test_function_model_reads_its_output() -> None:
    frame = pd.DataFrame({"x": [0.1, 0.7, 0.4]})
    scores = FunctionModel(lambda f: f["x"].to_numpy(), classes=["no", "yes"])
    assert scores.predict(frame).tolist() == ["no", "yes", "no"]
    proba = scores.predict_proba(frame)
    assert proba is not None and np.allclose(proba[:, 1], [0.1, 0.7, 0.4])
    matrix = FunctionModel(lambda f: np.column_stack([1 - f["x"], f["x"]]))
    assert matrix.predict(frame).tolist() == [0, 1, 0]
    labels = FunctionModel(lambda f: np.array(["a", "b", "a"]))
    assert labels.predict_proba(frame) is None
    wrong = FunctionModel(lambda f: np.array([1]))
    with pytest.raises(BadInput, match="one value"):
        wrong.predict(frame)
