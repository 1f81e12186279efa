"""The built-in scanners: prompt injection, PII, secrets, toxicity and the output checks."""

from __future__ import annotations

from charter.guard.base import Scanner


def builtin_scanners() -> list[Scanner]:
    """One instance of each built-in scanner, with default settings."""
    from charter.guard.scanners.injection import PromptInjectionScanner
    from charter.guard.scanners.output import EchoScanner, GroundingScanner, OutputSchemaScanner
    from charter.guard.scanners.pii import PIIScanner
    from charter.guard.scanners.secrets import SecretsScanner
    from charter.guard.scanners.toxicity import ToxicityScanner

    return [
        PromptInjectionScanner(),
        PIIScanner(),
        SecretsScanner(),
        ToxicityScanner(),
        OutputSchemaScanner(),
        GroundingScanner(),
        EchoScanner(),
    ]
