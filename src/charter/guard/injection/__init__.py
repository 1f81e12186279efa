"""Prompt injection and jailbreak detection: a rules layer and an optional learned layer."""
