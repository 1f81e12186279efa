"""Train the learned layer of the prompt-injection scanner and write its weights file.

    python scripts/guard/train_injection.py

Data: ``injection_data.build()`` (sources and licences in its docstring and in
docs/guardrails.md). Texts are de-duplicated, then split *by group* (a PyRIT template,
a generator fold): 60% train, 20% validation (threshold), 20% held out. The model is a
logistic regression (scikit-learn, L2, balanced classes) over the hashed features of
``charter.guard.injection.learned.features``; its block threshold is the lowest one
whose false-positive rate on validation benign prompts is at most 0.5%, the flag
threshold halfway between that and the 2% point. Writes
``src/charter/guard/data/injection.npz`` and the held-out split as the guardrails
suite's default sets (``guardrails_attacks.jsonl``, ``guardrails_benign.jsonl``), and
prints held-out
recall and false-positive rate per layer.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
import injection_data

from charter.guard.injection import learned, rules

DATA = Path(__file__).resolve().parents[2] / "src" / "charter" / "guard" / "data"


def split_of(group: str) -> str:
    """train, validation or test, fixed by the group's CRC-32."""
    bucket = zlib.crc32(group.encode()) % 5
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def matrix(texts: list[str]) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        indices, values = learned.features(text[: learned.WINDOW])
        rows += [i] * len(indices)
        cols += indices.tolist()
        vals += values.tolist()
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), learned.N_FEATURES))


def lowest_threshold(scores: np.ndarray, fpr: float) -> float:
    """The lowest threshold whose false-positive rate on ``scores`` is at most ``fpr``."""
    ordered = np.sort(scores)[::-1]
    allowed = int(np.floor(fpr * len(ordered)))
    return float(ordered[allowed] + 1e-6) if allowed < len(ordered) else 0.5


def main() -> None:
    rows = injection_data.build()
    seen: set[str] = set()
    unique = [r for r in rows if not (r["text"] in seen or seen.add(r["text"]))]
    parts: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for row in unique:
        parts[split_of(row["group"])].append(row)
    x_train = matrix([r["text"] for r in parts["train"]])
    y_train = np.array([r["label"] for r in parts["train"]])
    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000)
    model.fit(x_train, y_train)
    weights = model.coef_[0].astype(np.float32)
    bias = float(model.intercept_[0])
    final = learned.LearnedModel(weights, bias, 0.5, 0.5, "training run")
    val = parts["validation"]
    benign_val = np.array([final.probability(r["text"]) for r in val if r["label"] == 0])
    threshold = max(0.5, lowest_threshold(benign_val, 0.005))
    # Flags are for review: halfway between the 2%-FPR point and the block threshold.
    flag_threshold = min(threshold, max(0.4, (threshold + lowest_threshold(benign_val, 0.02)) / 2))
    nonzero = np.flatnonzero(np.abs(weights) > 1e-4)
    np.savez_compressed(
        DATA / "injection.npz",
        indices=nonzero.astype(np.int32),
        values=weights[nonzero].astype(np.float16),
        bias=np.float64(bias),
        threshold=np.float64(threshold),
        flag_threshold=np.float64(flag_threshold),
        source=np.array(f"scripts/guard/train_injection.py; {len(parts['train'])} examples"),
    )
    learned.load_model.cache_clear()
    shipped = learned.load_model()
    test = parts["test"]
    for name, label in (("guardrails_attacks.jsonl", 1), ("guardrails_benign.jsonl", 0)):
        with (DATA / name).open("w", encoding="utf-8") as out:
            for row in test:
                if row["label"] == label:
                    out.write(json.dumps({"text": row["text"], "kind": row["kind"]}) + "\n")
    print(
        f"examples: {len(unique)} unique; " + ", ".join(f"{k} {len(v)}" for k, v in parts.items())
    )
    print(
        f"thresholds: block {threshold:.4f}, flag {flag_threshold:.4f}; "
        f"{len(nonzero)} non-zero weights"
    )
    y = np.array([r["label"] for r in test])
    p = np.array([shipped.probability(r["text"]) for r in test])
    r_score = np.array([rules.combine(*rules.find_hits(r["text"])) for r in test])
    hard = np.array([r["kind"] == "benign:hard" for r in test])
    for layer, hit in (
        ("rules", r_score >= 0.75),
        ("learned", p >= shipped.threshold),
        ("combined", (r_score >= 0.75) | (p >= shipped.threshold)),
    ):
        recall = hit[y == 1].mean()
        fpr = hit[(y == 0) & ~hard].mean()
        fpr_hard = hit[(y == 0) & hard].mean()
        print(
            f"held-out {layer:9s} recall {recall:.3f}  FPR ordinary {fpr:.4f}  "
            f"FPR hard negatives {fpr_hard:.4f}  (n={int((y == 1).sum())}/"
            f"{int(((y == 0) & ~hard).sum())}/{int(hard.sum())})"
        )


if __name__ == "__main__":
    main()
