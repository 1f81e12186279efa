"""The public API is exactly what ``charter.monitoring.__all__`` names."""

from __future__ import annotations

import inspect

import charter.monitoring as monitoring


def test_every_exported_name_exists_and_is_documented() -> None:
    for name in monitoring.__all__:
        member = getattr(monitoring, name)
        if inspect.isfunction(member) or inspect.isclass(member):
            assert inspect.getdoc(member), name
    assert sorted(monitoring.__all__) == monitoring.__all__
