"""Guardrail latency per 1 KB prompt (rules alone, with the learned layer, the default
input guard), batch throughput, and held-out detection per layer.

    .venv/bin/python benchmarks/guard/bench_guard.py
"""

from __future__ import annotations

import json
import time
from importlib import resources

import numpy as np

from charter.guard import DEFAULT_CONFIG, Guard
from charter.guard.scanners.injection import PromptInjectionScanner


def prompts() -> list[str]:
    rows = []
    for name in ("guardrails_benign.jsonl", "guardrails_attacks.jsonl"):
        path = resources.files("charter.guard") / "data" / name
        rows += [json.loads(line)["text"] for line in path.read_text().splitlines()]
    out = []
    for i, text in enumerate(rows):
        body = (text + " ") * (1024 // max(len(text), 1) + 1)
        out.append(body[:1024] if i % 2 == 0 else text[:1024].ljust(1024, "."))
    return out


def latency(name: str, scan, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    for t in texts[:50]:
        scan(t)
    times = []
    for t in texts:
        start = time.perf_counter()
        scan(t)
        times.append((time.perf_counter() - start) * 1e3)
    p50, p99 = np.percentile(times, [50, 99])
    print(f"| {name} | {p50:.3f} | {p99:.3f} | {1e3 / np.mean(times):,.0f} |")


def detection() -> None:
    data = resources.files("charter.guard") / "data"
    attacks = [json.loads(x) for x in (data / "guardrails_attacks.jsonl").read_text().splitlines()]
    benign = [json.loads(x) for x in (data / "guardrails_benign.jsonl").read_text().splitlines()]
    rules = PromptInjectionScanner(learned_layer=False)
    both = PromptInjectionScanner(learned_layer=True)
    print(
        "\n| layer | recall (templates) | recall (all attacks) | FPR ordinary "
        "| FPR hard negatives |"
    )
    print("|---|---|---|---|---|")
    for name, scanner, key in (
        ("rules", rules, "rules_score"),
        ("learned", both, None),
        ("combined", both, "all"),
    ):

        def blocked(text: str, scanner=scanner, key=key) -> bool:
            r = scanner.scan(text)
            if key == "rules_score":
                return r.verdict == "block"
            if key is None:
                return (r.details["learned_probability"] or 0) >= 0.5
            return r.verdict == "block"

        tpl = [blocked(a["text"]) for a in attacks if a["kind"] == "jailbreak-template"]
        allx = [blocked(a["text"]) for a in attacks]
        hard = [blocked(b["text"]) for b in benign if b["kind"] == "benign:hard"]
        ordinary = [blocked(b["text"]) for b in benign if b["kind"] != "benign:hard"]
        print(
            f"| {name} | {np.mean(tpl):.3f} (n={len(tpl)}) | {np.mean(allx):.3f} (n={len(allx)}) | "
            f"{np.mean(ordinary):.4f} (n={len(ordinary)}) | {np.mean(hard):.4f} (n={len(hard)}) |"
        )


def main() -> None:
    texts = prompts()
    print(
        f"{len(texts)} prompts of 1 KB\n\n| scan | p50 ms | p99 ms | scans/s |\n|---|---|---|---|"
    )
    latency("prompt_injection, rules only", PromptInjectionScanner(learned_layer=False).scan, texts)
    latency(
        "prompt_injection, rules + learned", PromptInjectionScanner(learned_layer=True).scan, texts
    )
    guard = Guard.from_config(DEFAULT_CONFIG)
    latency("default input guard (injection+pii+secrets+toxicity)", lambda t: guard.scan(t), texts)
    detection()


if __name__ == "__main__":
    main()
