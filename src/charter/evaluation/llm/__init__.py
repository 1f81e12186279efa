"""The ``llm`` evaluation suite: grounding, refusals, personal data in outputs, red-teaming.

- :mod:`.options`: :class:`LLMOptions`, the suite's settings
- :mod:`.records`: validation of the record fields, per-record means by group
- :mod:`.grounding`: grounding metrics over the records (scorer in ``charter.guard.grounding``)
- :mod:`.refusals`: refusal patterns and exemplars, :func:`detect_refusals`
- :mod:`.redteam`: jailbreak templates, probes and the red-team run
- :mod:`.suite`: :class:`LLMSuite` and :func:`evaluate_llm_file`

Personal-data detection is :mod:`charter.guard.pii` and the sentence embeddings are
:mod:`charter.guard.embeddings`: the guardrail scanners use the same code in serving
processes, where nothing may import pandas.
"""

from charter.evaluation.llm.options import LLMOptions
from charter.evaluation.llm.records import Records, validate_records
from charter.evaluation.llm.redteam import Template
from charter.evaluation.llm.refusals import RefusalVerdicts, detect_refusals
from charter.evaluation.llm.suite import METRICS, LLMSuite, evaluate_llm_file
from charter.guard.grounding import DEFAULT_GROUNDING_THRESHOLDS, context_chunks

__all__ = [
    "DEFAULT_GROUNDING_THRESHOLDS",
    "METRICS",
    "LLMOptions",
    "LLMSuite",
    "Records",
    "RefusalVerdicts",
    "Template",
    "context_chunks",
    "detect_refusals",
    "evaluate_llm_file",
    "validate_records",
]
