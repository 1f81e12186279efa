"""The ``secrets`` scanner: API keys and tokens of common providers, private keys, and
high-entropy strings.

Provider keys are matched by their documented prefixes and lengths (AWS, GitHub, GitLab,
Slack, Stripe, OpenAI, Anthropic, Google, Hugging Face, npm, PyPI, SendGrid, Twilio,
JWTs, Azure storage keys, credentials in URLs) and block. A value assigned to a
secret-sounding name (``api_key = "..."``, ``password: ...``) with high Shannon entropy
blocks too; a free-standing high-entropy token (at least 32 characters from several
character classes, not a hex digest or a UUID) only flags, because it is sometimes a
hash or an identifier. All patterns are RE2 (linear time).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import re2

from charter.guard.base import (
    EMPTY_CONTEXT,
    ScanContext,
    Scanner,
    ScanResult,
    Span,
    check_settings,
    number_setting,
    redact,
)

#: (label, pattern) of provider credentials; a match blocks.
PROVIDER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
     r"(?:[A-Za-z0-9+/=\s:,-]*-----END [A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"),
    ("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{60,255}\b"),
    ("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    ("slack_webhook", r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/"
     r"[A-Za-z0-9]+"),
    ("stripe_key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}\b"),
    ("anthropic_key", r"\bsk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{40,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}"
     r"|\bsk-proj-[A-Za-z0-9_-]{40,}|\bsk-[A-Za-z0-9]{48}\b"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("huggingface_token", r"\bhf_[A-Za-z0-9]{34,}\b"),
    ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi_token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    ("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
    ("twilio_key", r"\bSK[0-9a-f]{32}\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ("azure_storage_key", r"AccountKey=[A-Za-z0-9+/]{86}=="),
    ("url_credentials", r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]{1,100}:[^\s:/@]{3,100}@[^\s/]"),
)  # fmt: skip

_PROVIDERS = tuple((label, re2.compile(pattern)) for label, pattern in PROVIDER_PATTERNS)

#: A secret-sounding name assigned a value: the value is group 1.
_ASSIGNED = re2.compile(
    r"(?i)\b[a-z0-9_.-]{0,40}(?:api[_-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|"
    r"access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?|"
    r"bearer)[a-z0-9_.-]{0,20}[\"']?\s*(?:[:=]|=>|:=)\s*[\"']?([A-Za-z0-9+/_.~=!@#$%^&*-]{12,200})"
    r"|\bbearer\s+([A-Za-z0-9._~+/-]{20,}=*)"
)
_TOKEN = re2.compile(r"[A-Za-z0-9+/_=-]{32,512}")
_HEX_OR_UUID = re2.compile(
    r"^(?:[0-9a-fA-F]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})$"
)


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


class SecretsScanner(Scanner):
    """Credentials in text (prompts that paste keys, answers that leak them)."""

    name = "secrets"
    version = "1"
    can_redact = True
    summary = "API keys and tokens of common providers, private keys, high-entropy strings."

    def __init__(self, *, assigned_entropy: float = 3.0, token_entropy: float = 4.5) -> None:
        self.assigned_entropy = assigned_entropy
        self.token_entropy = token_entropy

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """Settings: ``assigned_entropy`` (3.0) and ``token_entropy`` (4.5), in bits/char."""
        check_settings(self.name, settings, ("assigned_entropy", "token_entropy"))
        return SecretsScanner(
            assigned_entropy=number_setting(
                self.name, settings, "assigned_entropy", self.assigned_entropy, 0, 8
            ),
            token_entropy=number_setting(
                self.name, settings, "token_entropy", self.token_entropy, 0, 8
            ),
        )

    def find(self, text: str) -> tuple[list[Span], bool]:
        """The spans found and whether any of them blocks (a provider or assigned secret)."""
        spans: list[Span] = []
        taken: list[tuple[int, int]] = []

        def add(span: tuple[int, int], label: str) -> bool:
            start, end = span
            if any(start < b and a < end for a, b in taken):
                return False
            taken.append((start, end))
            spans.append(Span(start, end, label))
            return True

        for label, program in _PROVIDERS:
            for match in program.finditer(text):
                add(match.span(), label)
        strong = bool(spans)
        for match in _ASSIGNED.finditer(text):
            group = 1 if match.group(1) is not None else 2
            value = match.group(group)
            if value is None or value.lower() in ("none", "null", "true", "false"):
                continue
            if shannon_entropy(value) >= self.assigned_entropy and _classes(value) >= 2:
                strong = add(match.span(group), "assigned_secret") or strong
        for match in _TOKEN.finditer(text):
            value = match.group(0)
            if _HEX_OR_UUID.match(value) or _classes(value) < 3 or value.count("/") > 2:
                continue
            if shannon_entropy(value) >= self.token_entropy:
                add(match.span(), "high_entropy")
        spans.sort(key=lambda s: s.start)
        return spans, strong

    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Block on provider keys and assigned secrets; flag free-standing high entropy."""
        spans, strong = self.find(text)
        if not spans:
            return self.result("pass", 0.0)
        labels = sorted({s.label for s in spans})
        return self.result(
            "block" if strong else "flag",
            0.95 if strong else 0.5,
            spans,
            redacted=redact(text, spans),
            reason=f"found {', '.join(labels)}",
            details={"counts": {label: sum(s.label == label for s in spans) for label in labels}},
        )
