"""The ``guardrails`` suite: the configured scanners on an attack set and a benign set.

Records (JSONL) hold ``text`` and ``label`` (``attack`` or ``benign``), optionally
``scanner`` (the scanner an attack targets: ``prompt_injection``, ``pii``, ``secrets``,
``toxicity``, ``output_schema``, ``grounding``, ``echo``; default ``prompt_injection``) and
``stage`` (``input``, default, or ``output``); output records may hold what the output
scanners compare the answer with: ``prompt``, ``context`` (a passage or a list of them),
``system_prompt`` and ``canaries`` (a list). The shipped default sets
(``charter/guard/data/guardrails_*.jsonl``, the held-out split of the injection model's
data) are used with ``default_sets: true``.

Every rate has a Wilson score interval at the run's confidence level:

- ``<scanner>_recall``: share of the attacks aimed at that scanner that are blocked
  (or redacted by it; ``injection_recall`` for ``prompt_injection``);
- ``attack_block_rate``: share of all attacks blocked;
- ``benign_block_rate`` / ``benign_flag_rate``: share of benign records blocked /
  flagged or blocked by any scanner. Per-scanner detail is in ``details``.

Settings (``--options``): ``tier`` (the built-in profile of a tier), or ``config`` (a
guard configuration mapping, as in a policy pack's ``guardrails.tiers.<tier>``), and
``default_sets``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._numeric import metric_entry
from charter.evaluation.models import Model
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import MetricInfo, Suite

TARGETS = {
    "prompt_injection": "injection_recall",
    "pii": "pii_recall",
    "secrets": "secrets_recall",
    "toxicity": "toxicity_recall",
    "output_schema": "output_schema_recall",
    "grounding": "grounding_recall",
    "echo": "echo_recall",
}
METRICS: dict[str, MetricInfo] = {
    **{
        name: MetricInfo("dataset", True, f"share of {scanner} attacks blocked")
        for scanner, name in TARGETS.items()
    },
    "attack_block_rate": MetricInfo("dataset", True, "share of all attack records blocked"),
    "benign_block_rate": MetricInfo("dataset", False, "share of benign records blocked"),
    "benign_flag_rate": MetricInfo("dataset", False, "share of benign records flagged or blocked"),
}


def wilson_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (NaN, NaN when ``n`` is 0)."""
    if n == 0:
        return math.nan, math.nan
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def default_sets() -> pd.DataFrame:
    """The shipped attack and benign sets."""
    frames = []
    for name, label in (
        ("guardrails_attacks.jsonl", "attack"),
        ("guardrails_benign.jsonl", "benign"),
    ):
        path = resources.files("charter.guard") / "data" / name
        with resources.as_file(path) as file:
            frame = pd.read_json(file, lines=True, dtype=False)
        frame["label"] = label
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class GuardrailsSuite(Suite):
    """Recall on attacks and false-positive rates on benign prompts of a guard config."""

    name = "guardrails"
    version = "1.1.0"
    summary = "The configured guardrail scanners on attack and benign sets, with Wilson CIs."
    metrics = METRICS

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        tier: str | None = None,
        use_default_sets: bool = False,
    ) -> None:
        self.config = dict(config) if config is not None else None
        self.tier = tier
        self.use_default_sets = use_default_sets

    def configured(self, settings: Mapping[str, Any], *, data_dir: Path | None = None) -> Suite:
        """Settings: ``config`` or ``tier``, and ``default_sets``."""
        unknown = sorted(set(settings) - {"config", "tier", "default_sets"})
        if unknown:
            raise BadInput(
                f"unknown setting(s) {', '.join(map(repr, unknown))}; known: config, tier, "
                "default_sets",
                location="options",
            )
        if "config" in settings and "tier" in settings:
            raise BadInput("give config or tier, not both", location="options")
        default = settings.get("default_sets", False)
        if not isinstance(default, bool):
            raise BadInput("default_sets must be true or false", location="options.default_sets")
        return GuardrailsSuite(
            settings.get("config"), tier=settings.get("tier"), use_default_sets=default
        )

    def _guard(self) -> Any:
        from charter.guard.pipeline import DEFAULT_CONFIG, Guard, GuardConfig

        if self.config is not None:
            config = GuardConfig.from_mapping(self.config, "options.config")
        elif self.tier is not None:
            from charter.domain.guard_policy import GuardrailsPolicy

            config = GuardConfig.from_mapping(GuardrailsPolicy().config_mapping(self.tier))
        else:
            config = DEFAULT_CONFIG
        return Guard.from_config(config), config

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Scan every record and count blocks and flags per label and target scanner."""
        if self.use_default_sets:
            data = pd.concat([data, default_sets()], ignore_index=True)
        for column in ("text", "label"):
            if column not in data.columns:
                raise BadInput(f"the guardrails suite needs a {column!r} field", location=column)
        texts = data["text"].tolist()
        labels = [str(v).strip().lower() for v in data["label"].tolist()]
        bad = [i + 1 for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise BadInput(f"'text' must be text; row(s) {bad[:5]} are not", location="text")
        wrong = [i + 1 for i, v in enumerate(labels) if v not in ("attack", "benign")]
        if wrong:
            raise BadInput(
                f"'label' must be attack or benign; row(s) {wrong[:5]}", location="label"
            )
        targets = (
            [str(v) if isinstance(v, str) else "prompt_injection" for v in data["scanner"]]
            if "scanner" in data.columns
            else ["prompt_injection"] * len(texts)
        )
        stages = (
            [str(v) if isinstance(v, str) else "input" for v in data["stage"]]
            if "stage" in data.columns
            else ["input"] * len(texts)
        )
        if any(s not in ("input", "output") for s in stages):
            raise BadInput("'stage' must be input or output", location="stage")
        contexts = _contexts(data)
        guard, config = self._guard()
        counts: dict[str, list[int]] = {}  # name -> [successes, n]
        per_scanner: dict[str, dict[str, int]] = {}
        errors = 0
        rows = zip(texts, labels, targets, stages, contexts, strict=True)
        for text, label, target, stage, scan_context in rows:
            outcome = guard.scan(text, stage, scan_context)
            for finding in outcome.findings:
                row = per_scanner.setdefault(
                    finding.result.scanner,
                    {
                        "records": 0,
                        "attack_blocked": 0,
                        "benign_blocked": 0,
                        "benign_flagged": 0,
                        "errors": 0,
                    },
                )
                row["records"] += 1
                if finding.result.verdict == "error":
                    row["errors"] += 1
                    errors += 1
                if finding.blocked:
                    row[f"{label}_blocked"] = row.get(f"{label}_blocked", 0) + 1
                if label == "benign" and finding.flagged:
                    row["benign_flagged"] += 1
            if label == "attack":
                # An attack is caught when it is blocked, or redacted by the scanner it aims
                # at (personal data redacted from a prompt has been handled).
                caught = outcome.blocked or any(
                    f.result.scanner == target and f.action == "redact" for f in outcome.findings
                )
                for name in (TARGETS.get(target), "attack_block_rate"):
                    if name is not None:
                        cell = counts.setdefault(name, [0, 0])
                        cell[0] += int(caught)
                        cell[1] += 1
            else:
                for name, hit in (
                    ("benign_block_rate", outcome.blocked),
                    ("benign_flag_rate", outcome.flagged),
                ):
                    cell = counts.setdefault(name, [0, 0])
                    cell[0] += int(hit)
                    cell[1] += 1
        overall: dict[str, Any] = {}
        for name in METRICS:
            successes, n = counts.get(name, [0, 0])
            low, high = wilson_interval(successes, n, options.confidence)
            overall[name] = metric_entry(
                successes / n if n else math.nan, low, high, reason="no records of this kind"
            )
        return {
            "task": "guardrails",
            "metrics": {"overall": overall, "cohorts": []},
            "details": {
                "interval": "wilson",
                "confidence": options.confidence,
                "counts": {k: {"successes": v[0], "n": v[1]} for k, v in counts.items()},
                "scanners": {
                    "input": [r.scanner for r in config.input],
                    "output": [r.scanner for r in config.output],
                },
                "per_scanner": per_scanner,
                "scanner_errors": errors,
                "default_sets": self.use_default_sets,
            },
            "warnings": [f"{errors} scanner error(s)"] if errors else [],
            "rows_evaluated": len(texts),
        }


def _listed(value: Any, location: str) -> tuple[str, ...]:
    """A passage or a list of passages as a tuple (missing: empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise BadInput("expected a text or a list of texts", location=location)


def _contexts(data: pd.DataFrame) -> list[Any]:
    """The output scanners' context of every record (empty where the columns are absent)."""
    from charter.guard.base import EMPTY_CONTEXT, ScanContext

    columns = [c for c in ("prompt", "context", "system_prompt", "canaries") if c in data]
    if not columns:
        return [EMPTY_CONTEXT] * len(data)
    contexts: list[Any] = []
    for index, record in enumerate(data[columns].to_dict("records")):
        where = f"row {index + 1}"
        fields: dict[str, Any] = {}
        for key in ("prompt", "system_prompt"):
            value = record.get(key)
            if isinstance(value, str):
                fields[key] = value
            elif value is not None and not (isinstance(value, float) and math.isnan(value)):
                raise BadInput(f"{key!r} must be text", location=f"{where}.{key}")
        fields["context"] = _listed(record.get("context"), f"{where}.context")
        fields["canaries"] = _listed(record.get("canaries"), f"{where}.canaries")
        contexts.append(ScanContext(**fields))
    return contexts
