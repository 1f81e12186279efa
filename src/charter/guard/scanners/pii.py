"""The ``pii`` scanner: personal data found (:mod:`charter.guard.pii`) and redacted.

Each item becomes a typed placeholder (``[EMAIL]``, ``[PHONE]``, ``[IBAN]``...), so the
redacted text keeps its meaning and can be logged or stored. Which types count and
which national phone formats are recognised are settings; names and addresses come from
pluggable recognizers (a plugin returns ``PIIScanner(recognizers=[...])`` from the
``charter_scanners`` hook under the same name, and later plugins win).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charter.domain.errors import BadInput
from charter.guard.base import EMPTY_CONTEXT, ScanContext, Scanner, ScanResult, Span, redact
from charter.guard.pii import DEFAULT_PHONE_REGIONS, PII_TYPES, PIIDetector, Recognizer


class PIIScanner(Scanner):
    """E-mail, phone, payment card, IBAN, SSN, NI number and IP addresses, redacted."""

    name = "pii"
    version = "1"
    can_redact = True
    summary = "Personal data (checksums and numbering plans validated), typed redaction."

    def __init__(
        self,
        types: Sequence[str] = PII_TYPES,
        *,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        recognizers: Sequence[Recognizer] = (),
    ) -> None:
        self.detector = PIIDetector(types, phone_regions=phone_regions, recognizers=recognizers)

    def configured(self, settings: Mapping[str, Any]) -> Scanner:
        """Settings: ``types`` (a subset of the built-in types), ``phone_regions`` (ISO codes)."""
        import phonenumbers

        unknown = sorted(set(settings) - {"types", "phone_regions"})
        if unknown:
            raise BadInput(
                f"unknown setting(s) {', '.join(map(repr, unknown))} for the pii scanner; "
                "known: types, phone_regions",
                location="guardrails.scanners.pii",
            )
        types = settings.get("types", self.detector.types)
        if isinstance(types, str) or not all(t in PII_TYPES for t in types):
            raise BadInput(
                f"types must be a list of {', '.join(PII_TYPES)}",
                location="guardrails.scanners.pii.types",
            )
        regions = settings.get("phone_regions", DEFAULT_PHONE_REGIONS)
        supported = phonenumbers.SUPPORTED_REGIONS
        if isinstance(regions, str) or not all(r in supported for r in regions):
            raise BadInput(
                "phone_regions must be a list of ISO 3166 region codes such as US, GB, DE",
                location="guardrails.scanners.pii.phone_regions",
            )
        return PIIScanner(types, phone_regions=regions, recognizers=self.detector.recognizers)

    def scan(self, text: str, context: ScanContext = EMPTY_CONTEXT) -> ScanResult:
        """Every item found blocks (the policy decides whether that means redact)."""
        found = self.detector.find(text)
        if not found:
            return self.result("pass", 0.0)
        spans = [Span(m.start, m.end, m.type) for m in found]
        counts: dict[str, int] = {}
        for match in found:
            counts[match.type] = counts.get(match.type, 0) + 1
        return self.result(
            "block",
            1.0,
            spans,
            redacted=redact(text, spans),
            reason=f"found {', '.join(f'{n} {k}' for k, n in sorted(counts.items()))}",
            details={"counts": counts},
        )
