"""Presidio's pattern recognizers on the generated PII set, offline (run under .venv-bench).

    .venv-bench/bin/python -m benchmarks.guard.pii_peer RECORDS.json OUT.json

Presidio's analyzer wants a spaCy pipeline for tokens and NER; no trained model can be
downloaded here, so it gets a blank English pipeline (tokeniser only) and its spaCy NER
recognizer is removed: what runs is its regex + checksum recognizers (e-mail, phone via
``phonenumbers``, credit card with Luhn, IBAN, US SSN, UK NINO, IP address) with their
context words, at Presidio's default score threshold (0: everything it reports).
Writes, per record, the entities found as ``{"type", "start", "end"}`` in the
benchmark's type names, and the seconds spent in ``analyze``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

#: Presidio entity -> the benchmark's type.
ENTITIES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "UK_NINO": "uk_ni",
    "IP_ADDRESS": "ip_address",
}


def analyzer() -> object:
    """An AnalyzerEngine over a blank spaCy pipeline, pattern recognizers only."""
    import spacy
    import tldextract

    # Presidio's e-mail recognizer calls ``tldextract.extract``, which would fetch the
    # public suffix list; the snapshot bundled with tldextract is used instead.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.nlp = {"en": spacy.blank("en")}  # loaded: the engine will not try to download
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    with contextlib.suppress(Exception):  # absent in some versions
        registry.remove_recognizer("SpacyRecognizer")
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


def main(source: str, target: str) -> None:
    """Analyze every record of ``source``; write the findings to ``target``."""
    records = json.loads(Path(source).read_text(encoding="utf-8"))
    engine = analyzer()
    wanted = [e for e in ENTITIES if e in engine.get_supported_entities("en")]  # type: ignore[attr-defined]
    found, seconds = [], 0.0
    for record in records:
        start = time.perf_counter()
        results = engine.analyze(text=record["text"], language="en", entities=wanted)  # type: ignore[attr-defined]
        seconds += time.perf_counter() - start
        found.append(
            [{"type": ENTITIES[r.entity_type], "start": r.start, "end": r.end} for r in results]
        )
    from importlib.metadata import version

    out = {
        "version": version("presidio-analyzer"),
        "entities": [ENTITIES[e] for e in wanted],
        "found": found,
        "seconds": seconds,
    }
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
