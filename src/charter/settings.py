"""Where Charter keeps its local state, and how a CLI call finds its database or server.

Resolution order, first match wins (environment, then ``$CHARTER_HOME/config.json``,
then the default):

- home: ``CHARTER_HOME``, default ``~/.charter``;
- database URL: ``CHARTER_DATABASE_URL``, config ``database_url``, default
  ``sqlite:///$CHARTER_HOME/charter.db``;
- server URL: ``CHARTER_URL``, config ``url``; when set, the CLI talks to that server;
- API token: ``CHARTER_TOKEN``, config ``token`` (written by ``charter init``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charter.domain.errors import BadInput

CONFIG_NAME = "config.json"


def charter_home() -> Path:
    """The directory holding the local config and the default SQLite database."""
    return Path(os.environ.get("CHARTER_HOME") or Path.home() / ".charter").expanduser()


def read_config(home: Path) -> dict[str, Any]:
    """Read the local config file; a missing file is an empty config."""
    path = home / CONFIG_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path} must hold a JSON object")
    return data


def write_config(home: Path, values: dict[str, Any]) -> Path:
    """Merge ``values`` into the config file atomically, readable by its owner only."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_NAME
    merged = {**read_config(home), **values}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(merged, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Settings:
    """The resolved settings for one CLI invocation."""

    home: Path
    database_url: str
    server_url: str | None
    token: str | None

    @classmethod
    def load(cls) -> Settings:
        """Resolve settings from the environment, the config file and defaults."""
        home = charter_home()
        config = read_config(home)
        database_url = (
            os.environ.get("CHARTER_DATABASE_URL")
            or config.get("database_url")
            or f"sqlite:///{home / 'charter.db'}"
        )
        server_url = os.environ.get("CHARTER_URL") or config.get("url") or None
        token = os.environ.get("CHARTER_TOKEN") or config.get("token") or None
        return cls(home=home, database_url=database_url, server_url=server_url, token=token)
