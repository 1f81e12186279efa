"""Guardrail scanners for the serving path: prompt injection, PII, secrets, toxicity, output.

Pure and in-process: nothing here imports server-side modules (no FastAPI, SQLAlchemy,
Alembic or pandas), so the SDK imports it in production serving processes.

- :mod:`.base`: the :class:`Scanner` interface, :class:`ScanResult`, :class:`Span`
- :mod:`.pipeline`: :class:`Guard` runs a :class:`GuardConfig` and applies the actions
- :mod:`.registry`: scanners from the ``charter_scanners`` plugin hook
- :mod:`.scanners`: the built-in scanners
- :mod:`.normalise`, :mod:`.injection`, :mod:`.pii`, :mod:`.grounding`, :mod:`.embeddings`
"""

from charter.guard.base import (
    EMPTY_CONTEXT,
    STAGES,
    ScanContext,
    Scanner,
    ScanResult,
    Span,
    Stage,
    Verdict,
)
from charter.guard.pipeline import (
    DEFAULT_CONFIG,
    Guard,
    GuardConfig,
    GuardOutcome,
    ScannerRule,
)

__all__ = [
    "DEFAULT_CONFIG",
    "EMPTY_CONTEXT",
    "STAGES",
    "Guard",
    "GuardConfig",
    "GuardOutcome",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "ScannerRule",
    "Span",
    "Stage",
    "Verdict",
]
