"""The base of every view."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class View(BaseModel):
    """A view: its validator is built on first use (``defer_build``).

    A command uses one or two of the views; building all of them at import was a
    measurable part of the CLI's start-up.
    """

    model_config = ConfigDict(defer_build=True)
