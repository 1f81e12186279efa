"""Output scanners: the answer's JSON schema, its grounding in the retrieved context, and
echoes of the system prompt or canary tokens.

- ``output_schema``: the answer (or the first fenced ```json block in it) must parse as
  JSON and validate against the policy's JSON Schema (``jsonschema-rs``, drafts 4 to
  2020-12). Invalid or non-JSON answers block; the reason names the first error.
- ``grounding``: the answer's sentences must be supported by the retrieved passages
  (:mod:`charter.guard.grounding`, the scorer of the ``llm`` suite): below
  ``min_support`` (share of supported sentences, 0.5) it blocks, below 1 it flags. An
  answer without context passes with a reason (nothing to check it against).
- ``echo``: a canary token in the answer (exact, or after normalisation) blocks; so
  does a verbatim run of the system prompt (``min_words`` consecutive words, 12) or a
  high share of its word 8-grams (``max_overlap``, 0.3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import re2

from charter.domain.errors import BadInput
from charter.guard import normalise
from charter.guard.base import (
    EMPTY_CONTEXT,
    ScanContext,
    Scanner,
    ScanResult,
    Span,
    Verdict,
    check_settings,
    number_setting,
)

_FENCE = re2.compile(r"```(?:json|JSON)?[ \t]*\n((?s:.*?))\n?```")
#: Nesting deeper than this is refused before parsing (the JSON parser recurses).
MAX_DEPTH = 200


def _depth_ok(text: str) -> bool:
    depth = 0
    in_string = escape = False
    for char in text:
        if in_string:
            if escape:
                escape = False
            elif char == "\\":
                escape = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


class OutputSchemaScanner(Scanner):
    """Structured answers must be JSON valid against the configured schema."""

    name = "output_schema"
    version = "1"
    stages = ("output",)
    summary = "JSON Schema validation of structured answers (jsonschema-rs)."

    def __init__(self, schema: Mapping[str, Any] | None = None) -> None:
        self.schema = dict(schema) if schema is not None else None
        self._validator: Any = None
        if self.schema is not None:
            import jsonschema_rs

            try:
                self._validator = jsonschema_rs.validator_for(self.schema)
            except (ValueError, jsonschema_rs.ValidationError) as exc:
                raise BadInput(
                    f"invalid JSON Schema: {str(exc).splitlines()[0]}",
                    location="guardrails.scanners.output_schema.schema",
                ) from None

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """Settings: ``schema``, a JSON Schema (mapping)."""
        check_settings(self.name, settings, ("schema",))
        schema = settings.get("schema")
        if not isinstance(schema, Mapping):
            raise BadInput(
                "output_schema needs a `schema` mapping (a JSON Schema)",
                location="guardrails.scanners.output_schema.schema",
            )
        return OutputSchemaScanner(schema)

    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Parse the answer (or its fenced JSON block) and validate it."""
        if self._validator is None:
            return self.result("error", 0.0, reason="no schema configured")
        fenced = _FENCE.search(text)
        body = fenced.group(1) if fenced else text.strip()
        offset = fenced.start(1) if fenced else len(text) - len(text.lstrip())
        if not _depth_ok(body):
            return self.result("block", 1.0, reason=f"JSON nested deeper than {MAX_DEPTH}")
        try:
            value = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return self.result("block", 1.0, reason=f"not JSON: {str(exc)[:200]}")
        errors = list(self._validator.iter_errors(value))
        if errors:
            first = errors[0]
            path = "/".join(str(p) for p in first.instance_path) or "(root)"
            return self.result(
                "block",
                1.0,
                [Span(offset, offset + len(body), "schema")],
                reason=f"{len(errors)} schema error(s); first at {path}: {first.message[:200]}",
                details={"errors": len(errors)},
            )
        return self.result("pass", 0.0)


class GroundingScanner(Scanner):
    """Answers must be supported by the retrieved passages."""

    name = "grounding"
    version = "1"
    stages = ("output",)
    summary = "Answer sentences supported by the retrieved context (the llm suite's scorer)."

    def __init__(
        self,
        *,
        embedding_backend: str = "auto",
        threshold: float | None = None,
        min_support: float = 0.5,
    ) -> None:
        if embedding_backend not in ("auto", "minilm", "lexical"):
            raise BadInput(
                "embedding_backend must be auto, minilm or lexical",
                location="guardrails.scanners.grounding.embedding_backend",
            )
        self.embedding_backend = embedding_backend
        self.threshold = threshold
        self.min_support = min_support

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """Settings: ``embedding_backend``, ``threshold`` (cosine), ``min_support``."""
        check_settings(self.name, settings, ("embedding_backend", "threshold", "min_support"))
        threshold = settings.get("threshold")
        return GroundingScanner(
            embedding_backend=str(settings.get("embedding_backend", self.embedding_backend)),
            threshold=None
            if threshold is None
            else number_setting(self.name, settings, "threshold", 0.5, -1, 1),
            min_support=number_setting(self.name, settings, "min_support", self.min_support, 0, 1),
        )

    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Share of the answer's sentences supported by the context chunks."""
        from charter.guard.embeddings import load_embedder
        from charter.guard.grounding import (
            DEFAULT_GROUNDING_THRESHOLDS,
            TextVectors,
            context_chunks,
            sentence_support,
            split_sentences,
        )

        passages = [p for p in context.context if p.strip()]
        if not passages:
            return self.result("pass", 0.0, reason="no retrieved context to check against")
        sentences = split_sentences(text[:100_000])[:200]
        if not sentences:
            return self.result("pass", 0.0, reason="empty answer")
        chunks = context_chunks([p[:100_000] for p in passages])[:2000]
        embedder = load_embedder(self.embedding_backend)  # type: ignore[arg-type]
        threshold = (
            self.threshold
            if self.threshold is not None
            else DEFAULT_GROUNDING_THRESHOLDS[embedder.name]
        )
        vectors = TextVectors(embedder, [*sentences, *chunks])
        found = sentence_support(vectors.of(sentences), vectors.of(chunks), threshold)
        share = float(found.supported.mean())
        details = {
            "supported": int(found.supported.sum()),
            "sentences": len(sentences),
            "threshold": threshold,
            "backend": embedder.name,
        }
        spans: list[Span] = []
        position = 0
        for sentence, ok in zip(sentences, found.supported, strict=True):
            first = sentence.split()[0] if sentence.split() else sentence
            start = text.find(first, position)
            if start >= 0:
                position = start + len(first)
                if not ok:
                    spans.append(Span(start, min(len(text), start + len(sentence)), "unsupported"))
        if share >= 1.0:
            return self.result("pass", 0.0, details=details)
        verdict: Verdict = "block" if share < self.min_support else "flag"
        return self.result(
            verdict,
            1.0 - share,
            spans,
            reason=f"{details['supported']} of {len(sentences)} sentence(s) supported",
            details=details,
        )


class EchoScanner(Scanner):
    """Answers must not reveal the system prompt or carry a canary token."""

    name = "echo"
    version = "1"
    stages = ("output",)
    can_redact = True
    summary = "The output does not echo the system prompt or canary tokens."

    def __init__(self, *, min_words: int = 12, max_overlap: float = 0.3) -> None:
        self.min_words = min_words
        self.max_overlap = max_overlap

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """Settings: ``min_words`` (verbatim run that blocks) and ``max_overlap``."""
        check_settings(self.name, settings, ("min_words", "max_overlap"))
        return EchoScanner(
            min_words=int(number_setting(self.name, settings, "min_words", self.min_words, 3, 200)),
            max_overlap=number_setting(self.name, settings, "max_overlap", self.max_overlap, 0, 1),
        )

    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Canary tokens, verbatim runs and shingle overlap with the system prompt."""
        from charter.guard.base import redact

        spans: list[Span] = []
        plain = normalise.skeleton(text)
        for canary in context.canaries:
            if not canary.strip():
                continue
            start = text.find(canary)
            if start >= 0:
                spans.append(Span(start, start + len(canary), "canary"))
            elif normalise.skeleton(canary) in plain:
                spans.append(Span(0, len(text), "canary"))
        overlap = 0.0
        if context.system_prompt:
            words = normalise.skeleton(context.system_prompt).split()[:20_000]
            answer = plain.split()[:200_000]
            n = 8
            if len(words) >= n and len(answer) >= n:
                grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
                hits = [tuple(answer[i : i + n]) in grams for i in range(len(answer) - n + 1)]
                shared = {tuple(answer[i : i + n]) for i, h in enumerate(hits) if h}
                overlap = len(shared) / len(grams)
                run = longest = 0
                for hit in hits:
                    run = run + 1 if hit else 0
                    longest = max(longest, run)
                if (longest and longest + n - 1 >= self.min_words) or overlap > self.max_overlap:
                    spans.append(Span(0, len(text), "system_prompt"))
        if not spans:
            return self.result("pass", overlap, details={"system_prompt_overlap": overlap})
        labels = sorted({s.label for s in spans})
        return self.result(
            "block",
            1.0,
            spans,
            redacted=redact(text, spans),
            reason=f"the answer echoes: {', '.join(labels)}",
            details={"system_prompt_overlap": round(overlap, 4)},
        )
