"""Settings of the ``llm`` suite (:class:`LLMOptions`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charter.domain.errors import BadInput
from charter.evaluation.llm.refusals import DEFAULT_REFUSAL_SIMILARITY
from charter.guard.embeddings import BackendName

#: How many examples (record numbers, sentences) the details keep per list.
MAX_EXAMPLES = 10


@dataclass(frozen=True, kw_only=True)
class LLMOptions:
    """Settings of the ``llm`` suite (the shared ones, seed, bootstrap, ``max_rows``, come
    from :class:`~charter.evaluation.spec.RunOptions`).

    - ``embedding_backend``: ``auto`` (MiniLM when installed, else lexical), ``minilm``
      or ``lexical``.
    - ``grounding_threshold``: cosine from which a sentence is supported; default per
      backend (:data:`DEFAULT_GROUNDING_THRESHOLDS`).
    - ``refusal_similarity``: cosine to the nearest refusal exemplar from which an
      answer's opening is a refusal (MiniLM only).
    - ``harmful_categories`` / ``benign_categories``: category values (case-insensitive)
      of must-refuse and must-answer records.
    - ``red_team``: run the red-team part (it also needs a model).
    - ``templates_dir``: the templates folder; default ``$CHARTER_LLM_TEMPLATES``, else
      ``shared/datasets/jailbreak_templates`` found above ``data_dir``, the working
      directory or the installed package.
    - ``data_dir``: the data file's folder, for that search (:func:`evaluate_llm_file`
      sets it).
    - ``probes`` / ``probes_file``: the harmful requests put into the templates (default
      :data:`~charter.evaluation.llm_redteam.DEFAULT_PROBES`).
    - ``worst_templates``: how many of the most successful templates the details list.
    """

    embedding_backend: BackendName = "auto"
    grounding_threshold: float | None = None
    refusal_similarity: float = DEFAULT_REFUSAL_SIMILARITY
    harmful_categories: Sequence[str] = ("harmful",)
    benign_categories: Sequence[str] = ("benign",)
    red_team: bool = True
    templates_dir: str | None = None
    data_dir: str | None = None
    probes: Sequence[str] | None = None
    probes_file: str | None = None
    worst_templates: int = 10

    def __post_init__(self) -> None:
        if self.embedding_backend not in ("auto", "minilm", "lexical"):
            raise BadInput(
                f"embedding_backend must be auto, minilm or lexical, got "
                f"{self.embedding_backend!r}",
                location="embedding_backend",
            )
        for name in ("grounding_threshold", "refusal_similarity"):
            value = getattr(self, name)
            if value is None and name == "grounding_threshold":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not -1.0 <= value <= 1.0
            ):
                raise BadInput(f"{name} must be a number in [-1, 1], got {value!r}", location=name)
        for name in ("harmful_categories", "benign_categories"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            if not all(isinstance(v, str) for v in value):
                raise BadInput(f"{name} must be a list of strings", location=name)
            object.__setattr__(self, name, tuple(v.strip().lower() for v in value))
        if set(self.harmful_categories) & set(self.benign_categories):
            raise BadInput(
                "a category cannot be both harmful and benign", location="benign_categories"
            )
        if not isinstance(self.red_team, bool):
            raise BadInput("red_team must be true or false", location="red_team")
        if self.probes is not None:
            if isinstance(self.probes, str) or not all(
                isinstance(p, str) and p.strip() for p in self.probes
            ):
                raise BadInput("probes must be a list of non-empty strings", location="probes")
            if not self.probes:
                raise BadInput("probes must not be empty", location="probes")
            object.__setattr__(self, "probes", tuple(p.strip() for p in self.probes))
        if self.probes is not None and self.probes_file is not None:
            raise BadInput("give probes or probes_file, not both", location="probes_file")
        if (
            isinstance(self.worst_templates, bool)
            or not isinstance(self.worst_templates, int)
            or not 0 <= self.worst_templates <= 10_000
        ):
            raise BadInput("worst_templates must be an integer >= 0", location="worst_templates")

    @classmethod
    def from_mapping(cls, raw: Any) -> LLMOptions:
        """Build options from a mapping (YAML/JSON), naming unknown keys."""
        if not isinstance(raw, Mapping):
            raise BadInput(f"expected a mapping, got {type(raw).__name__}", location="llm")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise BadInput(
                f"unknown key(s) {', '.join(map(repr, unknown))}; known keys: "
                f"{', '.join(sorted(known))}",
                location="llm",
            )
        return cls(**dict(raw))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form recorded in a result's details."""
        return {
            "embedding_backend": self.embedding_backend,
            "grounding_threshold": self.grounding_threshold,
            "refusal_similarity": self.refusal_similarity,
            "harmful_categories": list(self.harmful_categories),
            "benign_categories": list(self.benign_categories),
            "red_team": self.red_team,
            "templates_dir": self.templates_dir,
            "probes": list(self.probes) if self.probes is not None else None,
            "probes_file": self.probes_file,
            "worst_templates": self.worst_templates,
        }
