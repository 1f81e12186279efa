"""Train the example credit model on German credit and write what a model team hands over.

Usage: python examples/credit-limit/train.py OUT_DIR
Writes OUT_DIR/model.joblib (a scikit-learn pipeline on the raw columns) and
OUT_DIR/holdout.csv (the 40% holdout with `score` and `pred` columns).
"""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "german_credit.csv"


def main(out: Path) -> None:
    """Fit, score the holdout, and save both."""
    frame = pd.read_csv(DATA)
    features = frame.drop(columns=["risk"])
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(features[c])]
    numeric = [c for c in features if c not in categorical]
    train_x, test_x, train_y, _ = train_test_split(
        features, frame["risk"], test_size=0.4, random_state=7, stratify=frame["risk"]
    )
    model = make_pipeline(
        ColumnTransformer(
            [
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("numeric", StandardScaler(), numeric),
            ]
        ),
        LogisticRegression(max_iter=1000),
    ).fit(train_x, train_y)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    holdout = frame.loc[test_x.index].copy()
    holdout["score"] = model.predict_proba(test_x)[:, 1]
    holdout["pred"] = (holdout["score"] >= 0.5).astype(int)
    holdout.to_csv(out / "holdout.csv", index=False)
    print(f"model and {len(holdout)}-row holdout written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
