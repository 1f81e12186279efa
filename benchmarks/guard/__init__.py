"""Guardrail scanners: latency per prompt and held-out detection per layer."""
