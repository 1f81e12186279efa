"""Guardrails: latency per 1 KB prompt, and held-out detection per layer of the injection scanner.

    .venv/bin/python benchmarks/guard/run.py               # all 476 shipped prompts
    .venv/bin/python benchmarks/guard/run.py --quick       # the first 60 for latency

1. Latency of one scan of a 1 KB prompt, one at a time after 50 warm-up scans: the
   prompt-injection scanner with its rules alone and with the learned layer, and the
   default input guard (injection, PII, secrets, toxicity). The prompts are the held-out
   sets shipped in ``charter.guard``'s data, padded or repeated to 1 KB.
2. Detection on the held-out sets (never trained on): recall on the PyRIT jailbreak
   templates and on all attacks, false-positive rate on ordinary and on hard-negative
   benign texts, per layer (rules, learned, both combined).
Figures: docs/benchmarks.md, "Guardrails".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import json
import statistics
import time
from argparse import ArgumentParser, Namespace
from collections.abc import Callable
from importlib import resources
from typing import Any

from benchmarks.common import bounded, main, percentile, print_table

QUICK = {"prompts": 60}


def _held_out(name: str) -> list[dict[str, Any]]:
    path = resources.files("charter.guard") / "data" / name
    return [json.loads(line) for line in path.read_text().splitlines()]


def prompts(limit: int) -> list[str]:
    """The held-out texts as 1 KB prompts: every other one repeated, the rest padded."""
    texts = [r["text"] for r in _held_out("guardrails_benign.jsonl")]
    texts += [r["text"] for r in _held_out("guardrails_attacks.jsonl")]
    out = []
    for i, text in enumerate(texts[:limit]):
        body = (text + " ") * (1024 // max(len(text), 1) + 1)
        out.append(body[:1024] if i % 2 == 0 else text[:1024].ljust(1024, "."))
    return out


def latency(scan: Callable[[str], Any], texts: list[str]) -> list[Any]:
    """p50 and p99 ms of one scan (wall clock, and CPU time of this thread), scans/s.

    The CPU-time columns leave out the time the process waited for a core: on a shared
    machine the wall-clock p99 is mostly the scheduler's time slice, not the scan.
    """
    for text in texts[:50]:
        scan(text)
    wall, cpu = [], []
    for text in texts:
        start, start_cpu = time.perf_counter(), time.thread_time()
        scan(text)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return [
        percentile(wall, 50),
        percentile(wall, 99),
        percentile(cpu, 50),
        percentile(cpu, 99),
        1000 / statistics.fmean(wall),
    ]


def detection() -> list[list[Any]]:
    """Recall and false-positive rates per layer on the held-out sets."""
    from charter.guard.scanners.injection import PromptInjectionScanner

    attacks, benign = _held_out("guardrails_attacks.jsonl"), _held_out("guardrails_benign.jsonl")
    rules, both = (
        PromptInjectionScanner(learned_layer=False),
        PromptInjectionScanner(learned_layer=True),
    )
    layers: dict[str, Callable[[str], bool]] = {
        "rules": lambda text: rules.scan(text).verdict == "block",
        "learned": lambda text: (both.scan(text).details["learned_probability"] or 0) >= 0.5,
        "combined": lambda text: both.scan(text).verdict == "block",
    }
    groups = {
        "jailbreak templates": [a["text"] for a in attacks if a["kind"] == "jailbreak-template"],
        "all attacks": [a["text"] for a in attacks],
        "ordinary benign": [b["text"] for b in benign if b["kind"] != "benign:hard"],
        "hard negatives": [b["text"] for b in benign if b["kind"] == "benign:hard"],
    }
    rows = []
    for layer, blocked in layers.items():
        rates = [statistics.fmean(map(blocked, texts)) for texts in groups.values()]
        rows.append([layer, *(f"{r:.4f}" for r in rates)])
    rows.append(["(texts)", *(len(texts) for texts in groups.values())])
    return rows


def body(args: Namespace) -> dict[str, Any]:
    """The latency table, then the detection table."""
    from charter.guard import DEFAULT_CONFIG, Guard
    from charter.guard.scanners.injection import PromptInjectionScanner

    texts = prompts(args.prompts)
    guard = Guard.from_config(DEFAULT_CONFIG)
    scans = {
        "prompt_injection, rules only": PromptInjectionScanner(learned_layer=False).scan,
        "prompt_injection, rules + learned": PromptInjectionScanner(learned_layer=True).scan,
        "default input guard (injection + pii + secrets + toxicity)": guard.scan,
    }
    rows = [[name, *latency(scan, texts)] for name, scan in scans.items()]
    print_table(
        f"Latency per 1 KB prompt ({len(texts)} prompts, one at a time)",
        ["scan", "p50 ms", "p99 ms", "CPU p50 ms", "CPU p99 ms", "scans/s"],
        rows,
    )
    found = detection()
    print_table(
        "Held-out detection: recall on attacks, false-positive rate on benign texts",
        ["layer", "recall, templates", "recall, all attacks", "FPR ordinary", "FPR hard negatives"],
        found,
    )
    return {"latency": rows, "detection": found}


def configure(parser: ArgumentParser) -> None:
    """The guardrail benchmark's options."""
    parser.add_argument(
        "--prompts",
        type=bounded(int, 51, 100_000),
        default=100_000,
        help="at most this many prompts for the latency table (default all)",
    )


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
