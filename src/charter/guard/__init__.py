"""Guardrail scanners (work in progress)."""
