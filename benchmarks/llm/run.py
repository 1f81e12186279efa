"""LLM suite: the NumPy MiniLM encoder beside sentence-transformers, and the suite's cost.

    .venv/bin/python benchmarks/llm/run.py                 # 512 sentences, 200 resamples
    .venv/bin/python benchmarks/llm/run.py --quick         # 64 sentences, 20 resamples

1. Sentences per second of Charter's all-MiniLM-L6-v2 forward pass in NumPy at batch
   sizes 32 and 64, on seeded generated sentences, best of 3; beside sentence-transformers
   on the same weights when it is installed (it needs torch, which the project does not
   install: the row is skipped with a line saying so).
2. The ``llm`` suite on the shipped sample (``tests/data/llm/records.jsonl``) with the
   MiniLM and the lexical backends, each in a fresh process (model load included).
Needs the ``llm`` extra (``make install`` installs it). Figures: docs/benchmarks.md, "LLM".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import json
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import (
    PYTHON,
    ROOT,
    bounded,
    main,
    missing_peer,
    print_table,
    run_process,
)

RECORDS = ROOT / "tests" / "data" / "llm" / "records.jsonl"
QUICK = {"sentences": 64, "bootstrap": 20}
TEXT = (
    "the customer asked whether a refund could be issued for the order placed last week "
    "and our policy says returns are accepted within thirty days when the item is unused "
    "shipping costs are not refunded unless the product arrived damaged or late payment "
    "by card is reversed in five working days the account team confirmed the balance"
)


def sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` seeded sentences of 6 to 30 words."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [
        " ".join(rng.choice(TEXT.split(), size=int(rng.integers(6, 31)))).capitalize() + "."
        for _ in range(count)
    ]


def _best_rate(encode: Any, texts: list[str]) -> float:
    encode(texts[:8])  # warm-up: first-call allocations
    best = min(_seconds(encode, texts) for _ in range(3))
    return len(texts) / best


def _seconds(encode: Any, texts: list[str]) -> float:
    start = time.perf_counter()
    encode(texts)
    return time.perf_counter() - start


def encoders(count: int) -> tuple[list[list[Any]], dict[str, Any]]:
    """Rows of the encoder table and its figures."""
    from tokenizers import Tokenizer

    from charter.guard.embeddings import MiniLMEmbedder, minilm_model_dir

    model_dir = minilm_model_dir()
    if model_dir is None:
        raise SystemExit("the all-MiniLM-L6-v2 weights are not installed (make install)")
    texts = sentences(count)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()  # the file pads to 128; count the real word pieces
    pieces = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    figures: dict[str, Any] = {"sentences": count, "word_pieces": [min(pieces), max(pieces)]}
    row = ["Charter NumPy (float32)"]
    for batch in (32, 64):
        embedder = MiniLMEmbedder(model_dir, batch_size=batch)
        figures[f"charter_batch_{batch}"] = _best_rate(embedder.encode, texts)
        row.append(figures[f"charter_batch_{batch}"])
    rows = [row]
    skipped = missing_peer("sentence_transformers", hint="it needs torch; not declared")
    if skipped:
        print(skipped, flush=True)
    else:
        import sentence_transformers
        import torch

        model = sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")
        label = (
            f"sentence-transformers {sentence_transformers.__version__}, torch "
            f"{torch.__version__} CPU, {torch.get_num_threads()} threads"
        )
        row = [label]
        for batch in (32, 64):
            rate = _best_rate(lambda t, b=batch: model.encode(t, batch_size=b), texts)
            figures[f"sentence_transformers_batch_{batch}"] = rate
            row.append(rate)
        rows.append(row)
    return rows, figures


def _suite_child(backend: str, bootstrap: int) -> None:
    """In a fresh process: run the suite once, print seconds and sizes as JSON."""
    start = time.perf_counter()
    from charter.evaluation import RunOptions
    from charter.evaluation.llm import LLMOptions, evaluate_llm_file

    result = evaluate_llm_file(
        RECORDS,
        options=RunOptions(n_bootstrap=bootstrap),
        llm_options=LLMOptions(embedding_backend=backend),
    )
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rows": result["dataset"]["rows"]}))


def body(args: Namespace) -> dict[str, Any]:
    """The encoder table, then the suite table."""
    rows, figures = encoders(args.sentences)
    low, high = figures["word_pieces"]
    print_table(
        f"Encoding {args.sentences} generated sentences ({low}-{high} word pieces), "
        "sentences/s, best of 3",
        ["encoder", "batch 32", "batch 64"],
        rows,
    )
    suite_rows = []
    for backend in ("minilm", "lexical"):
        argv = [PYTHON, "-m", "benchmarks.llm.run", "--suite-child", backend, str(args.bootstrap)]
        done = json.loads(run_process(argv, cwd=ROOT).stdout.strip().splitlines()[-1])
        figures[f"suite_{backend}_s"] = done["seconds"]
        suite_rows.append([backend, done["rows"], args.bootstrap, done["seconds"]])
    print_table(
        "The llm suite on tests/data/llm/records.jsonl, fresh process (imports and model "
        "load included)",
        ["embedding backend", "records", "resamples", "seconds"],
        suite_rows,
    )
    return figures


def configure(parser: ArgumentParser) -> None:
    """The LLM benchmark's options."""
    parser.add_argument("--sentences", type=bounded(int, 8, 100_000), default=512)
    parser.add_argument("--bootstrap", type=bounded(int, 0, 10_000), default=200)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--suite-child"]:
        _suite_child(sys.argv[2], int(sys.argv[3]))
    else:
        main(__doc__, configure, body, quick=QUICK)
