"""The contract a release is approved under: offline bounds and the live section, parsed once.

A contract is written in a release manifest (``contract:``) and may be tightened by an
approval (``charter approve --contract FILE``)::

    contract:
      offline: ["roc_auc >= 0.75", "recall[sex] >= 0.6"]   # or {roc_auc: ">= 0.75", ...}
      live: {window: 1d, min_sample: 500, accuracy: ">= 0.70", monitors: [drift, fairness]}

A bare list is the offline section. **Which contract is enforced:** the contract in force
in an environment is the release's, tightened by every approval that counts there
(:func:`strictest`). An approval may tighten bounds and add monitors, never loosen
anything (:func:`check_not_looser` refuses a looser one, naming the bound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from charter.domain.contracts.live import LiveBound, LiveContract, parse_live
from charter.domain.contracts.metrics import Catalogue, deprecation_note
from charter.domain.contracts.offline import Bound, parse_offline
from charter.domain.errors import BadInput


@dataclass(frozen=True)
class Contract:
    """A parsed contract: offline bounds in the order written, and the live section."""

    offline: tuple[Bound, ...] = ()
    live: LiveContract = field(default_factory=LiveContract)

    @property
    def deprecations(self) -> tuple[str, ...]:
        """Notes on old metric names the contract uses (they still work)."""
        notes = [
            f"{b.location}: {note}"
            for b in self.offline
            if b.written_as and (note := deprecation_note(b.written_as)) is not None
        ]
        return (*notes, *self.live.deprecations)

    def to_dict(self) -> dict[str, Any]:
        """The contract in its written form: ``{offline: [...], live: {...}}``."""
        out: dict[str, Any] = {}
        if self.offline:
            out["offline"] = [b.written for b in self.offline]
        live = self.live.to_dict()
        if live:
            out["live"] = live
        return out


def parse_contract(
    raw: Any, *, location: str = "contract", catalogue: Catalogue | None = None
) -> Contract:
    """Parse a contract: a list of offline bounds, or ``{offline: ..., live: ...}``.

    Raises BadInput naming the location (``contract.offline[2]``) and column of the first
    syntax error or unknown metric. Offline metric names are checked when a ``catalogue``
    (from the evaluation suites) is given; live ones always.
    """
    if raw is None:
        return Contract()
    if isinstance(raw, Mapping):
        unknown = sorted(set(map(str, raw)) - {"offline", "live"})
        if unknown:
            raise BadInput(
                f"unknown key(s) {', '.join(unknown)}; a contract has 'offline' and 'live'",
                location=location,
            )
        offline = parse_offline(
            raw.get("offline") or [], location=f"{location}.offline", catalogue=catalogue
        )
        return Contract(offline, parse_live(raw.get("live"), location=f"{location}.live"))
    return Contract(parse_offline(raw, location=location, catalogue=catalogue))


# -- tightening -------------------------------------------------------------------------------

_LOWER = (">=", ">")


def _key(bound: Bound) -> tuple[Any, ...]:
    selector: Any = None
    if bound.group is not None:
        selector = ("group", tuple(sorted(bound.group.items())))
    elif bound.dimension is not None:
        selector = ("dimension", tuple(sorted(bound.dimension)))
    # A rule bound's settings (attributes, k) are part of what it measures.
    return (bound.metric, selector, bound.op in _LOWER, bound.params)


def _rank(bound: Bound) -> int:
    """How conservative the value the bound reads is (an interval end beats the estimate)."""
    safe = "ci_lower" if bound.op in _LOWER else "ci_upper"
    risky = "ci_upper" if bound.op in _LOWER else "ci_lower"
    return {risky: 0, "estimate": 1, safe: 2, "ci": 2}[bound.use]


def _strictness(op: str, threshold: float) -> tuple[float, bool]:
    """Order thresholds so that larger is stricter, whichever way the bound points."""
    strict = op in (">", "<")
    return (threshold, strict) if op in _LOWER else (-threshold, strict)


def _offline_covers(candidate: Bound, base: Bound) -> bool:
    return (
        _key(candidate) == _key(base)
        and _rank(candidate) >= _rank(base)
        and _strictness(candidate.op, candidate.threshold) >= _strictness(base.op, base.threshold)
    )


def _live_covers(candidate: LiveBound, base: LiveBound) -> bool:
    same_way = (candidate.op in _LOWER) == (base.op in _LOWER)
    return (
        candidate.metric == base.metric
        and same_way
        and _strictness(candidate.op, candidate.threshold) >= _strictness(base.op, base.threshold)
    )


def check_not_looser(base: Contract, candidate: Contract, *, location: str = "contract") -> None:
    """Refuse ``candidate`` (an approval's contract) if it loosens anything in ``base``.

    Every offline and live bound of ``base`` must be matched by one at least as strict
    (same metric and cohorts, same direction, threshold and interval end no looser);
    every monitor must still be watched; ``open_after`` may only fall and ``close_after``
    only rise; the window, minimum sample and lateness define what is measured and may
    not change.
    """
    for bound in base.offline:
        if not any(_offline_covers(c, bound) for c in candidate.offline):
            raise BadInput(
                f"the approval's contract loosens or drops the bound {bound.text!r}: an "
                "approval may tighten the release's contract, never loosen it",
                location=f"{location}.offline",
            )
    for live in base.live.bounds:
        if not any(_live_covers(c, live) for c in candidate.live.bounds):
            raise BadInput(
                f"the approval's contract loosens or drops the live bound '{live}'",
                location=f"{location}.live.{live.metric}",
            )
    dropped = sorted(base.live.monitors - candidate.live.monitors)
    if dropped:
        raise BadInput(
            f"the approval's contract stops monitoring {', '.join(dropped)}",
            location=f"{location}.live.monitors",
        )
    old, new = base.live, candidate.live
    for key in ("window", "window_rows", "min_sample", "lateness"):
        if getattr(old, key) != getattr(new, key) and getattr(new, key) is not None:
            raise BadInput(
                f"an approval may not change live.{key.removesuffix('_rows')}: it defines "
                "what is measured (create a new release instead)",
                location=f"{location}.live.{key.removesuffix('_rows')}",
            )
    if _patience(new.open_after, old.open_after, max):
        raise BadInput(
            "an approval may not raise live.open_after (alerts would open later)",
            location=f"{location}.live.open_after",
        )
    if _patience(new.close_after, old.close_after, min):
        raise BadInput(
            "an approval may not lower live.close_after (alerts would close sooner)",
            location=f"{location}.live.close_after",
        )


def _patience(new: int | None, old: int | None, worse: Any) -> bool:
    return new is not None and old is not None and new != old and worse(new, old) == new


def strictest(contracts: Sequence[Contract]) -> Contract:
    """One contract holding every bound of ``contracts``, the strictest where they overlap.

    The first contract is the release's; the others come from the approvals that count,
    each already checked not to be looser. Settings come from the first, except that the
    smallest ``open_after`` and the largest ``close_after`` win.
    """
    if not contracts:
        return Contract()
    offline: dict[tuple[Any, ...], Bound] = {}
    for contract in contracts:
        for bound in contract.offline:
            key = (*_key(bound), _rank(bound))
            held = offline.get(key)
            if held is None or _strictness(bound.op, bound.threshold) > _strictness(
                held.op, held.threshold
            ):
                offline[key] = bound
    live: dict[str, LiveBound] = {}
    for contract in contracts:
        for lb in contract.live.bounds:
            held_live = live.get(lb.metric)
            if held_live is None or _strictness(lb.op, lb.threshold) > _strictness(
                held_live.op, held_live.threshold
            ):
                live[lb.metric] = lb
    base = contracts[0].live
    opens = [c.live.open_after for c in contracts if c.live.open_after is not None]
    closes = [c.live.close_after for c in contracts if c.live.close_after is not None]
    merged_live = LiveContract(
        window=base.window,
        window_rows=base.window_rows,
        min_sample=base.min_sample,
        open_after=min(opens) if opens else None,
        close_after=max(closes) if closes else None,
        lateness=base.lateness,
        monitors=frozenset().union(*(c.live.monitors for c in contracts)),
        bounds=tuple(live.values()),
        deprecations=base.deprecations,
    )
    return Contract(tuple(offline.values()), merged_live)
