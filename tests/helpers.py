"""Small builders shared by tests."""

from __future__ import annotations

from typing import Any

from charter.domain.releases import ReleaseManifest

SHA_A = "a" * 64


def manifest(seed: str = "1", **overrides: Any) -> ReleaseManifest:
    """A valid manifest whose content (and digest) varies with ``seed``."""
    body: dict[str, Any] = {
        "label": f"v{seed}",
        "components": [
            {"kind": "model", "name": "scorer", "uri": "s3://models/scorer.pkl", "sha256": SHA_A},
            {"kind": "prompt", "name": "system", "text": f"You are assistant {seed}."},
        ],
        "config": {"threshold": 0.5},
        "contract": {"offline": {"roc_auc": ">= 0.75"}},
    }
    body.update(overrides)
    return ReleaseManifest.model_validate(body)
