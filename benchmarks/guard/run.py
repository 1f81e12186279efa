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
3. PII precision and recall per entity type on generated text with known spans
   (``benchmarks/guard/pii_set.py``), for the PII scanner and, side by side, for
   Presidio's pattern recognizers under ``.venv-bench`` (``make bench-peers``;
   ``benchmarks/guard/pii_peer.py``), with time per record.
Figures: docs/benchmarks.md, "Guardrails".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import json
import os
import statistics
import time
from argparse import ArgumentParser, Namespace
from collections.abc import Callable
from importlib import resources
from typing import Any

from benchmarks.common import (
    PYTHON,
    ROOT,
    bounded,
    main,
    missing_peer,
    percentile,
    print_table,
    run_process,
)

PEERS_VENV = ROOT / ".venv-bench" / "bin" / "python"

QUICK = {"prompts": 60, "pii_records": 200}


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


def pii(records_n: int, peers_python: str | None) -> tuple[list[list[Any]], dict[str, Any]]:
    """Per-type precision / recall / F1 of the PII scanner and, if it runs, Presidio."""
    import tempfile

    from benchmarks.guard import pii_set
    from charter.guard.pii import find_pii

    records = pii_set.build(records_n)
    aliases = {"ipv4": "ip_address", "ipv6": "ip_address"}
    start = time.perf_counter()
    charter = [
        [{"type": aliases.get(m.type, m.type), "start": m.start, "end": m.end} for m in found]
        for found in map(find_pii, (r["text"] for r in records))
    ]
    tools: dict[str, Any] = {
        "charter": {
            "scores": pii_set.score(records, charter),
            "seconds": time.perf_counter() - start,
        }
    }
    skipped = (
        missing_peer("presidio_analyzer", peers_python, hint="make bench-peers")
        if peers_python
        else "skipped: presidio (--no-peers)"
    )
    if skipped:
        print(skipped, flush=True)
    else:
        assert peers_python is not None
        with tempfile.TemporaryDirectory(prefix="charter-bench-pii-") as tmp:
            source, target = Path(tmp) / "records.json", Path(tmp) / "found.json"
            source.write_text(json.dumps(records))
            argv = [peers_python, "-m", "benchmarks.guard.pii_peer", str(source), str(target)]
            run_process(argv, cwd=ROOT, timeout=1800)
            peer = json.loads(target.read_text())
        tools[f"presidio {peer['version']} (patterns)"] = {
            "scores": pii_set.score(records, peer["found"]),
            "seconds": peer["seconds"],
            "entities": peer["entities"],
        }
    rows = []
    for kind in pii_set.TYPES:
        row: list[Any] = [kind, tools["charter"]["scores"][kind]["n"]]
        for figures in tools.values():
            s = figures["scores"][kind]
            if kind not in figures.get("entities", [kind]):
                row += ["n/a", "n/a"]  # the tool has no recognizer for the type
            else:
                row += [f"{s['precision']:.3f}", f"{s['recall']:.3f}"]
        rows.append(row)
    rows.append(
        [
            "ms per record",
            "",
            *(x for f in tools.values() for x in (f"{1000 * f['seconds'] / len(records):.3f}", "")),
        ]
    )
    headers = ["type", "items"] + [f"{t} {m}" for t in tools for m in ("precision", "recall")]
    return [headers, *rows], tools


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
    (headers, *table), tools = pii(args.pii_records, None if args.no_peers else args.peers_python)
    print_table(
        f"PII on generated text with known spans ({args.pii_records} records)", headers, table
    )
    return {"latency": rows, "detection": found, "pii": tools}


def configure(parser: ArgumentParser) -> None:
    """The guardrail benchmark's options."""
    parser.add_argument(
        "--prompts",
        type=bounded(int, 51, 100_000),
        default=100_000,
        help="at most this many prompts for the latency table (default all)",
    )
    parser.add_argument(
        "--pii-records", type=bounded(int, 50, 1_000_000), default=1400, help="default 1400"
    )
    default = os.environ.get("CHARTER_PEERS_PYTHON") or (
        str(PEERS_VENV) if PEERS_VENV.exists() else PYTHON
    )
    parser.add_argument("--peers-python", default=default, help=f"default {default}")
    parser.add_argument("--no-peers", action="store_true", help="Charter only")


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
