"""What-if: would lark's on-disk parser cache take celpy's grammar build off policy loading?

    .venv/bin/python benchmarks/experiments/cel_parser_cache.py [--runs 10] [--quick]

Every process that compiles a CEL rule (``charter policy apply``, loading a pack that
was not stored, an intake assessment) first has celpy build its LALR parser from the CEL
grammar. lark can instead load the tables from a cache file (``Lark(..., cache=PATH)``).
This runs ``load_policy`` on the default pack (all its rules compiled) in fresh
processes, as Charter does it and with celpy's parser swapped for a cached one in
memory, checks that both give the same policy, and prints the times. Nothing in Charter
changes; the swap reaches into celpy's ``CELParser.CEL_PARSER``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import hashlib
import json
import re
import statistics
import tempfile
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import PYTHON, ROOT, bounded, expect, main, print_table, run_process


def _install_cached_parser(path: str) -> None:
    """Build celpy's parser with the same options as celpy, plus lark's ``cache=``."""
    import celpy
    import celpy.celparser as cp
    import lark

    grammar = (Path(cp.__file__).parent / "cel.lark").read_text()
    cp.CELParser.CEL_PARSER = lark.Lark(
        grammar,
        cache=path,
        parser="lalr",
        start="expr",
        debug=True,
        g_regex_flags=re.M,
        lexer_callbacks={"IDENT": cp.CELParser.ambiguous_literals},
        propagate_positions=True,
        maybe_placeholders=False,
        priority="invert",
        tree_class=celpy.InterpretedRunner.tree_node_class,
    )


def _child(cache: str | None) -> None:
    """In a fresh process: (optionally) the cached parser, then load the default pack."""
    start = time.perf_counter()
    from charter.domain.policy import load_policy
    from charter.services.policies import default_pack

    pack = default_pack()
    imported = time.perf_counter()
    if cache:
        _install_cached_parser(cache)
    policy = load_policy(pack, "default.yaml")  # compiles every CEL rule
    loaded = time.perf_counter()
    digest = hashlib.sha256(policy.model_dump_json().encode()).hexdigest()
    print(json.dumps({"import_s": imported - start, "load_s": loaded - imported, "digest": digest}))


def body(args: Namespace) -> dict[str, Any]:
    """Interleave the two variants in fresh processes; one table."""
    with tempfile.TemporaryDirectory(prefix="charter-exp-lark-") as tmp:
        cache = str(Path(tmp) / "cel-lark.cache")
        variants = ("as shipped (celpy builds its parser)", "what-if: lark cache=")
        argv = [PYTHON, "-m", "benchmarks.experiments.cel_parser_cache", "--child"]
        run_process([*argv, "--lark-cache", cache], cwd=ROOT)  # writes the cache file
        samples: dict[str, list[tuple[float, dict[str, Any]]]] = {v: [] for v in variants}
        for _ in range(args.runs):
            for label, extra in zip(variants, ([], ["--lark-cache", cache]), strict=True):
                done = run_process([*argv, *extra], cwd=ROOT)
                samples[label].append((done.wall_s, json.loads(done.stdout)))
    digests = {s["digest"] for runs in samples.values() for _, s in runs}
    expect(len(digests) == 1, "both variants load the same policy")
    rows = [
        [
            label,
            statistics.median(w for w, _ in runs) * 1000,
            statistics.median(s["load_s"] for _, s in runs) * 1000,
        ]
        for label, runs in samples.items()
    ]
    print_table(
        f"Loading the default pack with its CEL rules compiled, fresh process (median of "
        f"{args.runs})",
        ["variant", "whole process ms", "load_policy ms"],
        rows,
    )
    return {"rows": rows}


def configure(parser: ArgumentParser) -> None:
    """The experiment's options."""
    parser.add_argument("--runs", type=bounded(int, 1, 200), default=10)


if __name__ == "__main__":
    if "--child" in sys.argv:
        child = ArgumentParser()
        child.add_argument("--child", action="store_true")
        child.add_argument("--lark-cache")
        _child(child.parse_args().lark_cache)
    else:
        main(__doc__, configure, body, quick={"runs": 2})
