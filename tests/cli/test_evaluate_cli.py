"""`charter evaluate` with suite settings (`--options`) through the real CLI."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import Cli

LLM_DATA = Path(__file__).resolve().parents[1] / "data" / "llm"
RELEASE = """
label: chat-v1
components:
  - {kind: prompt, name: system, text: "Answer only from the retrieved passages."}
contract:
  offline:
    pii_output_rate: "<= 0.5"
"""


def test_llm_suite_takes_options_from_a_file(tmp_path: Path, database_url: str) -> None:
    cli = Cli(tmp_path / "home", database_url)
    cli("init")
    dev = cli.json("user", "add", "dana", "--role", "developer")["token"]
    intake = tmp_path / "intake.yaml"
    intake.write_text(
        "owner: support\nanswers: {domain: customer_service, interacts_with_people: true}\n"
    )
    cli("system", "register", "help-chat", "--intake", str(intake), token=dev)
    (tmp_path / "release.yaml").write_text(RELEASE)
    digest = cli.json(
        "release", "create", "help-chat", "-f", str(tmp_path / "release.yaml"), token=dev
    )["digest"]
    ref = f"help-chat@{digest[:12]}"
    options = tmp_path / "llm.yaml"
    options.write_text("embedding_backend: lexical\nred_team: false\ngrounding_threshold: 0.3\n")
    common = ["--suite", "llm", "--data", str(LLM_DATA / "records.jsonl"), "--bootstrap", "10"]

    stored = cli.json("evaluate", ref, *common, "--options", str(options), token=dev)
    shown = cli.json("evidence", "show", str(stored["id"]))
    settings = shown["result"]["details"]["llm_options"]
    assert settings["embedding_backend"] == "lexical"
    assert settings["grounding_threshold"] == 0.3
    assert settings["red_team"] is False
    assert shown["result"]["metrics"]["overall"]["attack_success_rate"]["value"] is None

    options.write_text("embedding_backend: lexical\ntemperature: 0.2\n")
    refused = cli("evaluate", ref, *common, "--options", str(options), token=dev, expect=2)
    assert "unknown key(s) 'temperature'" in refused.stderr
    options.write_text("- not\n- a mapping\n")
    refused = cli("evaluate", ref, *common, "--options", str(options), token=dev, expect=2)
    assert "must be a mapping" in refused.stderr
    refused = cli(
        "evaluate",
        ref,
        "--suite",
        "data-quality",
        "--data",
        str(LLM_DATA / "records.jsonl"),
        "--options",
        str(tmp_path / "release.yaml"),
        token=dev,
        expect=2,
    )
    assert "takes no suite settings" in refused.stderr
    assert cli.json("evidence", "list", ref)["total"] == 1
