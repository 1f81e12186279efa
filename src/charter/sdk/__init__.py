"""The client serving code imports: light (httpx and the standard library only)."""

from charter.sdk.client import CharterLogger

__all__ = ["CharterLogger"]
