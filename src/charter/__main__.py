"""Allow ``python -m charter``."""

from charter.cli.main import run

run()
