"""What-if launcher: the ``charter`` console script with suggested fixes patched in, in memory.

``python gate_whatif.py FIXES CHARTER-ARGS...`` where FIXES is a comma-separated subset of:

- ``freeze``: ``gc.freeze()`` when ``run()`` returns, so that interpreter shutdown does not
  walk the ~100,000 objects the imports left behind (what ``charter.cli.main.run`` could
  do at its end);
- ``larkcache``: build celpy's CEL parser with lark's ``cache=`` option (the LALR tables are
  computed once and then loaded from the file named by ``GATE_WHATIF_LARK_CACHE``), instead
  of ``celpy.celparser.CELParser`` analysing the grammar in every process;
- ``cyaml``: parse YAML with libyaml (``yaml.CSafeLoader``) in
  ``charter.domain.text.load_yaml_document``, keeping its strict duplicate-key and no-dates
  behaviour.

Nothing on disk changes except the lark cache file. Benchmark-only: it reaches into private
names of celpy and ``charter.domain.text``.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from pathlib import Path


def _lark_cache(path: str) -> None:
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


def _cyaml() -> None:
    import yaml

    from charter.domain import text

    class _CStrictLoader(yaml.CSafeLoader):
        pass

    _CStrictLoader.yaml_implicit_resolvers = text._StrictLoader.yaml_implicit_resolvers
    _CStrictLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        text._construct_mapping,  # type: ignore[arg-type]
    )
    text._StrictLoader = _CStrictLoader  # type: ignore[misc]


def main() -> None:
    fixes = set(sys.argv[1].split(","))
    sys.argv = ["charter", *sys.argv[2:]]
    if "larkcache" in fixes:
        _lark_cache(os.environ["GATE_WHATIF_LARK_CACHE"])
    if "cyaml" in fixes:
        _cyaml()
    from charter.cli.main import run

    try:
        run()
    finally:
        if "freeze" in fixes:
            gc.freeze()


if __name__ == "__main__":
    main()
