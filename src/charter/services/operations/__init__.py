"""Every operation an adapter performs: one function each, ``(ctx, ...) -> view``.

The HTTP API's routes and the CLI's local mode are one-liners over these functions, so
an operation is written once: the route calls :func:`perform` with the function, the CLI's
local backend looks the same function up by name in :data:`OPERATIONS`. The CLI's remote
backend sends the same named operation to the route that performs it, and a parity test
runs every name here both ways and compares the JSON.

Why not have the CLI drive the ASGI app in process instead: importing FastAPI and
building the app costs ~0.3 s more per command (measured in ``benchmarks/startup``),
and ``charter gate`` must stay fast in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from charter.services.context import Actor, Charter, Context

P = ParamSpec("P")
V = TypeVar("V", bound=BaseModel)


@dataclass(frozen=True)
class Operation:
    """A named operation: its function and whether it writes."""

    name: str
    function: Callable[..., BaseModel]
    write: bool


#: Every operation, by name; filled as the operation modules are imported.
OPERATIONS: dict[str, Operation] = {}
#: The module of each operation group (the name up to its first dot). Modules are imported
#: on first use, so a command loads only what its operation needs (monitoring brings
#: numpy and pandas; ``charter gate`` must not).
MODULES = {
    "whoami": "inventory",
    "user": "inventory",
    "system": "inventory",
    "release": "releases",
    "decision": "records",
    "audit": "records",
    "policy": "policy",
    "gate": "gates",
    "exception": "gates",
    "deployment": "deployments",
    "route": "deployments",
    "status": "status",
    "evidence": "evidence",
    "reference": "monitoring",
    "observations": "monitoring",
    "labels": "monitoring",
    "alert": "monitoring",
    "channel": "monitoring",
    "monitoring": "monitoring",
    "attestation": "runtime",
    "trace": "runtime",
    "incident": "runtime",
    "intervention": "runtime",
    "drill": "runtime",
    "card": "documents",
    "pack": "documents",
    "kpis": "documents",
    "report": "documents",
    "rollout": "rollouts",
    "shadow": "rollouts",
    "profiles": "monitoring",
    "risk": "risks",
}


def operation(
    name: str, *, write: bool
) -> Callable[[Callable[Concatenate[Context, P], V]], Callable[Concatenate[Context, P], V]]:
    """Register a function as the operation ``name`` (a write opens a write transaction)."""

    def register(
        function: Callable[Concatenate[Context, P], V],
    ) -> Callable[Concatenate[Context, P], V]:
        if name in OPERATIONS:
            raise ValueError(f"operation {name!r} is registered twice")
        OPERATIONS[name] = Operation(name, function, write)
        function.__dict__["charter_operation"] = name
        return function

    return register


def lookup(function: Callable[..., Any]) -> Operation:
    """The registered operation of a function."""
    return OPERATIONS[function.__dict__["charter_operation"]]


def perform(
    charter: Charter,
    actor: Actor,
    function: Callable[Concatenate[Context, P], V],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> V:
    """Run an operation as an authenticated actor in one transaction (the API's path)."""
    with charter.as_actor(actor, write=lookup(function).write) as ctx:
        return function(ctx, *args, **kwargs)


def find(name: str) -> Operation:
    """The operation called ``name``, importing its module on first use."""
    import importlib

    module = MODULES.get(name.split(".")[0])
    if module is None:
        raise KeyError(name)
    importlib.import_module(f"{__name__}.{module}")
    return OPERATIONS[name]


def all_operations() -> dict[str, Operation]:
    """Every operation, with every operation module imported."""
    import importlib

    for module in sorted(set(MODULES.values())):
        importlib.import_module(f"{__name__}.{module}")
    return OPERATIONS
