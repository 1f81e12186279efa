"""Builders of the serving-path tests: a deployed high-tier system whose release is read
from a real ``release.yaml`` with a prompt file, so that the SDK can attest it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.evaluation.support import GUARD_OUTPUT_CONFIG, GUARD_OUTPUT_RECORDS, guardrails_result
from tests.services.support import (
    CREDIT,
    HIGH_RISK_DOCS,
    add_evidence,
    approve_twice,
    record_result,
    satisfy_evidence,
)

from charter.domain.releases import parse_manifest
from charter.domain.systems import IntakeFile
from charter.services import deployments, releases, systems

PROMPT = "You are the limit assistant. Answer briefly.\n"


def write_release(directory: Path, prompt: str = PROMPT, seed: str = "1") -> Path:
    """A release.yaml with a model file and a prompt file beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.bin").write_bytes(b"model weights " + seed.encode())
    (directory / "prompt.txt").write_text(prompt, encoding="utf-8")
    path = directory / "release.yaml"
    path.write_text(
        f"""label: v{seed}
components:
  - {{kind: model, name: scorer, path: model.bin}}
  - {{kind: prompt, name: system, path: prompt.txt}}
  - {{kind: dataset, name: train, uri: s3://d/train.parquet, sha256: {"c" * 64}}}
config:
  threshold: 0.5
  seed: "{seed}"
  guardrails: [prompt_injection, pii, toxicity, output_schema]
  docs: {json.dumps(HIGH_RISK_DOCS)}
contract:
  offline: {{roc_auc: ">= 0.75", "demographic_parity_ratio[sex]": ">= 0.8"}}
  live:
    window: 1h
    min_sample: 50
    open_after: 1
    close_after: 2
    monitors: [performance, drift, fairness, latency, guardrails]
""",
        encoding="utf-8",
    )
    return path


def register(act: Any, name: str = "credit-limit") -> None:
    with act("developer") as ctx:
        systems.register_system(
            ctx,
            name,
            owner="Retail Credit Risk",
            purpose="limit increases",
            population="UK retail",
            surfaces=["web"],
            intake=IntakeFile(answers=CREDIT),
        )


def release_from(charter: Any, act: Any, path: Path, *, deploy: bool = True, **approve: Any) -> str:
    """Create, evidence, approve (twice) and deploy the release of ``path``; returns the ref."""
    with act("developer") as ctx:
        release, _ = releases.create_release(
            ctx, "credit-limit", parse_manifest(path.read_bytes()), base_dir=path.parent
        )
    ref = f"credit-limit@{release.digest}"
    satisfy_evidence(charter, ref)
    add_evidence(charter, ref, "llm")
    # The guardrail controls read what the suite measured, not the declaration.
    record_result(act, ref, guardrails_result())
    record_result(act, ref, guardrails_result(GUARD_OUTPUT_RECORDS, GUARD_OUTPUT_CONFIG))
    approve_twice(act, ref, **approve)
    if deploy:
        with act("developer") as ctx:
            deployments.deploy(ctx, ref, "prod")
    return ref
