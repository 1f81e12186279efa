"""Charter: the control plane that makes an AI risk policy executable."""

__version__ = "0.1.0"
__all__ = ["__version__"]
