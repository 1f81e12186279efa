"""Rebuild ``src/charter/guard/data/toxicity.npz`` from the alt-profanity-check model.

alt-profanity-check (MIT licence, https://github.com/dimitrismistriotis/alt-profanity-check)
ships a linear SVM over TF-IDF word unigrams, calibrated with Platt scaling in five
folds, retrained for each scikit-learn release on the profanity-check training data
(about 200k human-labelled comments: the Kaggle/Jigsaw toxic comment data and
t-davidson/hate-speech-and-offensive-language). Loading it needs scikit-learn and
joblib (1.7 s, 9 ms per 1 KB text here); the guardrail needs neither. This script writes
the same model as plain arrays (vocabulary, IDF, the five SVM weight vectors and their
sigmoid calibrations), which :mod:`charter.guard.scanners.toxicity` evaluates in NumPy
with the same probabilities to 1e-5 (weights stored as float32); the tests compare the
two when the package is installed.

Run: ``pip install alt-profanity-check && python scripts/guard/export_toxicity.py``.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "src" / "charter" / "guard" / "data" / "toxicity.npz"


def main() -> None:
    from profanity_check import profanity_check as pc

    vectorizer, model = pc.vectorizer, pc.model
    params = vectorizer.get_params()
    assert params["ngram_range"] == (1, 1)
    assert params["lowercase"]
    assert params["norm"] == "l2"
    assert params["token_pattern"] == r"(?u)\b\w\w+\b"  # noqa: S105 - a regex, not a secret
    assert not params["sublinear_tf"]
    assert model.method == "sigmoid"
    words = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    coef = np.stack([c.estimator.coef_[0] for c in model.calibrated_classifiers_])
    intercept = np.array([c.estimator.intercept_[0] for c in model.calibrated_classifiers_])
    a = np.array([c.calibrators[0].a_ for c in model.calibrated_classifiers_])
    b = np.array([c.calibrators[0].b_ for c in model.calibrated_classifiers_])
    # A word is shown (and redacted) as toxic when the model alone calls it toxic.
    alone = pc.predict_prob(words)
    np.savez_compressed(
        OUT,
        words=np.array(words),
        idf=vectorizer.idf_.astype(np.float32),
        coef=coef.astype(np.float32),
        intercept=intercept,
        a=a,
        b=b,
        toxic_word=alone >= 0.5,
        source=np.array(f"alt-profanity-check {metadata.version('alt-profanity-check')}"),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(words)} words)")


if __name__ == "__main__":
    main()
