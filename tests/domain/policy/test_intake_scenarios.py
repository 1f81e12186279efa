"""Intake scenarios written from the EU AI Act's text: the tier, the flags and the controls.

Each scenario is a realistic use case answered from the question text, with the provision
that decides it. Expected controls are the tier's base set (literal below) plus the
controls the scenario's flags add (literal per scenario). Guardrail controls are left out
of the comparison: they belong to the guardrails pack section and are tested there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import pytest

from charter.domain.policy import Policy, assess_intake, load_policy

BASE = {
    "high": {
        "approval-quorum-high", "contract-fairness-bound", "contract-offline",
        "contract-performance-bound", "doc-intended-purpose", "doc-owner", "doc-population",
        "doc-surfaces", "eval-data-quality", "eval-fairness", "eval-llm", "eval-performance",
        "eval-performance-prod-fresh", "eval-robustness", "event-logs", "fallback-tested",
        "human-oversight", "monitor-drift", "monitor-fairness", "monitor-llm",
        "monitor-performance", "review-cadence-high", "risk-register",
        "serious-incident-procedure", "vendor-deprecation", "vendor-deprecation-date",
    },
    "derogated": {
        "approval-quorum", "contract-offline-declared", "doc-intended-purpose", "doc-owner",
        "doc-population", "review-cadence", "vendor-deprecation",
    },
    "limited": {
        "approval-quorum", "contract-offline-declared", "doc-intended-purpose", "doc-owner",
        "doc-population", "eval-llm", "fallback-defined", "monitor-performance",
        "review-cadence", "vendor-deprecation",
    },
    "minimal": {"approval-quorum", "contract-offline-declared", "doc-intended-purpose", "doc-owner",
                "vendor-deprecation"},
    "prohibited": set(),
}  # fmt: skip
#: Arts. 9-11, 13, 15(5), 43, 47-49, 72: the provider's high-risk obligations.
PROVIDER_HIGH = {
    "risk-management-file", "data-governance", "technical-documentation",
    "cybersecurity-testing", "post-market-monitoring-plan", "conformity-assessment",
    "declaration-and-registration",
}  # fmt: skip
MATERIAL_HIGH = {
    "independent-validation", "material-validation-evidence", "material-review-cadence",
    "material-monitoring",
}  # fmt: skip
MATERIAL_MEDIUM = {
    "material-validation-evidence-yearly", "material-review-cadence-yearly",
    "material-monitoring-performance",
}  # fmt: skip
BOTH = {"provider", "deployer"}
PROVIDER = {"role": "provider"}
DEPLOYER = {"role": "deployer"}
PUBLIC_DEPLOYER = {"role": "deployer", "public_service_deployer": True}
IN_HOUSE = {"role": "provider_and_deployer"}


@dataclass(frozen=True)
class Scenario:
    name: str
    basis: str
    answers: dict[str, Any]
    tier: str
    flags: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)
    rule: str | None = None


def annex(point: str, **answers: Any) -> dict[str, Any]:
    return {"annex_iii": [point], **answers}


SCENARIOS = [
    # --- Annex III, point by point, with the scope limits in the points' own text ---------
    Scenario("police post-event face search", "Annex III 1(a); Art. 27(1) public body",
             annex("1a_remote_biometric_identification", **PUBLIC_DEPLOYER), "high",
             {"deployer", "affected-persons", "fria-required"},
             {"inform-affected-persons", "fundamental-rights-impact-assessment"}, "annex-iii-1a"),
    Scenario("1:1 selfie check at account opening", "Annex III 1(a) excludes verification; Art. 50(1)",
             {**IN_HOUSE, "interacts_with_people": True}, "limited",
             BOTH | {"art50-interaction"}, {"transparency-disclosure"}, "interacts-with-people"),
    Scenario("shopper age and gender categorisation", "Annex III 1(b); Art. 50(3)",
             annex("1b_biometric_categorisation", **DEPLOYER), "high",
             {"deployer", "affected-persons", "art50-emotion-biometric"},
             {"inform-affected-persons", "transparency-disclosure"}, "annex-iii-1b"),
    Scenario("call-centre customer sentiment from voice", "Annex III 1(c); Art. 50(3)",
             annex("1c_emotion_recognition", **PROVIDER), "high",
             {"provider", "art50-emotion-biometric"}, PROVIDER_HIGH | {"transparency-disclosure"},
             "annex-iii-1c"),
    Scenario("water network pressure safety controller", "Annex III 2; Art. 27(1) excludes point 2",
             annex("2_critical_infrastructure_safety", **PUBLIC_DEPLOYER), "high",
             {"deployer"}, set(), "annex-iii-2"),
    Scenario("public university admission ranking", "Annex III 3(a); Art. 27(1)",
             annex("3a_education_admission", **IN_HOUSE, public_service_deployer=True), "high",
             BOTH | {"affected-persons", "fria-required"},
             PROVIDER_HIGH | {"inform-affected-persons", "fundamental-rights-impact-assessment"},
             "annex-iii-3a"),
    Scenario("essay grading engine sold to schools", "Annex III 3(b)",
             annex("3b_education_evaluating_learning", **PROVIDER), "high", {"provider"},
             PROVIDER_HIGH, "annex-iii-3b"),
    Scenario("language placement test", "Annex III 3(c)",
             annex("3c_education_assessing_level", **DEPLOYER), "high",
             {"deployer", "affected-persons"}, {"inform-affected-persons"}, "annex-iii-3c"),
    Scenario("online exam proctoring", "Annex III 3(d)",
             annex("3d_education_monitoring_tests", **DEPLOYER), "high",
             {"deployer", "affected-persons"}, {"inform-affected-persons"}, "annex-iii-3d"),
    Scenario("CV screener on a vendor LLM", "Annex III 4(a); Art. 26(7); Art. 53(1)(b)",
             annex("4a_recruitment_selection", **IN_HOUSE, gpai_model="integrates_gpai_model"),
             "high", BOTH | {"affected-persons", "workplace-deployer", "gpai-downstream"},
             PROVIDER_HIGH | {"inform-affected-persons", "inform-workers",
                              "gpai-downstream-information"}, "annex-iii-4a"),
    Scenario("HR-policy FAQ chatbot", "not Annex III 4; Art. 50(1)",
             {**IN_HOUSE, "interacts_with_people": True, "gpai_model": "integrates_gpai_model"},
             "limited", BOTH | {"art50-interaction", "gpai-downstream"},
             {"transparency-disclosure", "gpai-downstream-information"}, "interacts-with-people"),
    Scenario("warehouse task allocation and performance scoring", "Annex III 4(b); Art. 26(7)",
             annex("4b_work_decisions_monitoring", **DEPLOYER), "high",
             {"deployer", "affected-persons", "workplace-deployer"},
             {"inform-affected-persons", "inform-workers"}, "annex-iii-4b"),
    Scenario("municipal housing-benefit eligibility", "Annex III 5(a); Art. 27(1)",
             annex("5a_public_benefits_eligibility", **PUBLIC_DEPLOYER), "high",
             {"deployer", "affected-persons", "fria-required"},
             {"inform-affected-persons", "fundamental-rights-impact-assessment"}, "annex-iii-5a"),
    Scenario("retail credit scoring, 2m customers", "Annex III 5(b); Art. 27(1); materiality",
             annex("5b_creditworthiness", **IN_HOUSE, profiling=True,
                   customers_affected="over_100k"), "high",
             BOTH | {"affected-persons", "fria-required", "material-high"},
             PROVIDER_HIGH | MATERIAL_HIGH | {"inform-affected-persons",
                                              "fundamental-rights-impact-assessment"},
             "annex-iii-5b"),
    Scenario("card fraud detection", "Annex III 5(b) excludes fraud detection; materiality",
             {**IN_HOUSE, "regulatory_use": True, "decision_automation": "fully_automated"},
             "minimal", BOTH | {"material-high"}, MATERIAL_HIGH, None),
    Scenario("life insurance underwriting", "Annex III 5(c); Art. 27(1)",
             annex("5c_life_health_insurance", **DEPLOYER), "high",
             {"deployer", "affected-persons", "fria-required"},
             {"inform-affected-persons", "fundamental-rights-impact-assessment"}, "annex-iii-5c"),
    Scenario("motor insurance pricing", "Annex III 5(c) is life and health only; materiality",
             {**IN_HOUSE, "customers_affected": "over_100k", "financial_impact": "high"},
             "minimal", BOTH | {"material-high"}, MATERIAL_HIGH, None),
    Scenario("112 call triage", "Annex III 5(d); Art. 27(1)",
             annex("5d_emergency_calls_triage", **PUBLIC_DEPLOYER), "high",
             {"deployer", "affected-persons", "fria-required"},
             {"inform-affected-persons", "fundamental-rights-impact-assessment"}, "annex-iii-5d"),
    Scenario("domestic-violence victim risk", "Annex III 6(a)",
             annex("6a_law_enforcement_victim_risk", **PUBLIC_DEPLOYER), "high",
             {"deployer", "affected-persons", "fria-required"},
             {"inform-affected-persons", "fundamental-rights-impact-assessment"}, "annex-iii-6a"),
    Scenario("interview deception detector for police", "Annex III 6(b)",
             annex("6b_law_enforcement_polygraph", **PROVIDER), "high", {"provider"},
             PROVIDER_HIGH, "annex-iii-6b"),
    Scenario("forensic evidence reliability scoring", "Annex III 6(c)",
             annex("6c_law_enforcement_evidence_reliability", **PROVIDER), "high", {"provider"},
             PROVIDER_HIGH, "annex-iii-6c"),
    Scenario("re-offending risk with case facts", "Annex III 6(d); Art. 6(3) profiling override",
             annex("6d_law_enforcement_offending_risk", **PROVIDER, profiling=True,
                   art6_3_conditions=["preparatory_task"], no_significant_risk=True),
             "high", {"provider"}, PROVIDER_HIGH, "annex-iii-6d"),
    Scenario("investigation profiling", "Annex III 6(e)",
             annex("6e_law_enforcement_profiling", **PROVIDER), "high", {"provider"},
             PROVIDER_HIGH, "annex-iii-6e"),
    Scenario("border interview polygraph", "Annex III 7(a)",
             annex("7a_migration_polygraph", **PROVIDER), "high", {"provider"}, PROVIDER_HIGH,
             "annex-iii-7a"),
    Scenario("traveller risk screening", "Annex III 7(b)",
             annex("7b_migration_risk_assessment", **PROVIDER), "high", {"provider"},
             PROVIDER_HIGH, "annex-iii-7b"),
    Scenario("visa application assistant", "Annex III 7(c)",
             annex("7c_migration_applications", **PROVIDER), "high", {"provider"}, PROVIDER_HIGH,
             "annex-iii-7c"),
    Scenario("border face identification", "Annex III 7(d)",
             annex("7d_migration_identification", **PROVIDER), "high", {"provider"},
             PROVIDER_HIGH, "annex-iii-7d"),
    Scenario("passport chip verification", "Annex III 7(d) excludes travel-document verification",
             {**PROVIDER}, "minimal", {"provider"}, set(), None),
    Scenario("court case-law research assistant", "Annex III 8(a)",
             annex("8a_justice_research_interpretation", **PROVIDER), "high", {"provider"},
             PROVIDER_HIGH, "annex-iii-8a"),
    Scenario("voter micro-targeting", "Annex III 8(b)",
             annex("8b_elections_influence", **PROVIDER), "high", {"provider"}, PROVIDER_HIGH,
             "annex-iii-8b"),
    Scenario("campaign volunteer scheduling", "Annex III 8(b) excludes campaign logistics",
             {**PROVIDER}, "minimal", {"provider"}, set(), None),
    # --- Art. 6(1): both limbs ---------------------------------------------------------------
    Scenario("diagnostic software in a Class IIa medical device", "Art. 6(1)(a)-(b)",
             {**PROVIDER, "annex_i_product": True, "third_party_conformity_assessment": True},
             "high", {"provider"}, PROVIDER_HIGH, "annex-i-safety-component"),
    Scenario("self-assessed radio-equipment voice assistant", "Art. 6(1)(b) unmet; Art. 50(1)",
             {**PROVIDER, "annex_i_product": True, "interacts_with_people": True}, "limited",
             {"provider", "art50-interaction"}, {"transparency-disclosure"},
             "interacts-with-people"),
    Scenario("machine performance optimiser", "Art. 6(1a): not a safety component",
             {**PROVIDER}, "minimal", {"provider"}, set(), None),
    # --- Art. 6(3) and its profiling override ------------------------------------------------
    Scenario("CV parser into structured fields", "Art. 6(3)(a), 6(4), 49(2)",
             annex("4a_recruitment_selection", **IN_HOUSE,
                   art6_3_conditions=["narrow_procedural_task"], no_significant_risk=True),
             "derogated", BOTH | {"affected-persons", "workplace-deployer"},
             {"derogation-assessment", "derogation-registration"}, "annex-iii-derogation"),
    Scenario("CV parser that also scores candidates' traits", "Art. 6(3), last subparagraph",
             annex("4a_recruitment_selection", **IN_HOUSE, profiling=True,
                   art6_3_conditions=["narrow_procedural_task"], no_significant_risk=True),
             "high", BOTH | {"affected-persons", "workplace-deployer"},
             PROVIDER_HIGH | {"inform-affected-persons", "inform-workers"}, "annex-iii-4a"),
    Scenario("Art. 6(3) task without the no-significant-risk assessment", "Art. 6(3), 6(4)",
             annex("5d_emergency_calls_triage", **PROVIDER,
                   art6_3_conditions=["preparatory_task"]), "high", {"provider"}, PROVIDER_HIGH,
             "annex-iii-5d"),
    Scenario("loan-file translation", "Art. 6(3)(d)",
             annex("5b_creditworthiness", **IN_HOUSE, art6_3_conditions=["preparatory_task"],
                   no_significant_risk=True), "derogated",
             BOTH | {"affected-persons", "fria-required"},
             {"derogation-assessment", "derogation-registration"}, "annex-iii-derogation"),
    # --- Art. 5: every practice, and every exception the Act allows --------------------------
    Scenario("dark-pattern upsell", "Art. 5(1)(a)", {"practices": ["manipulative_techniques"]},
             "prohibited", rule="manipulative-techniques"),
    Scenario("payday loans targeted at indebted users", "Art. 5(1)(b)",
             {"practices": ["exploits_vulnerabilities"]}, "prohibited",
             rule="exploiting-vulnerabilities"),
    Scenario("citizen trust score", "Art. 5(1)(c)", {"practices": ["social_scoring"]},
             "prohibited", rule="social-scoring"),
    Scenario("crime prediction from personality", "Art. 5(1)(d)",
             {"practices": ["predictive_policing_profiling"]}, "prohibited",
             rule="predictive-policing-profiling"),
    Scenario("risk tool supporting a fact-based human assessment", "Art. 5(1)(d) last sentence",
             {**PROVIDER, "practices": ["predictive_policing_profiling"],
              "predictive_policing_supports_human_assessment": True}, "high",
             {"provider", "legal-sign-off"}, PROVIDER_HIGH | {"legal-sign-off"},
             "predictive-policing-human-assessment"),
    Scenario("face database from scraped images", "Art. 5(1)(e)",
             {"practices": ["untargeted_facial_scraping"]}, "prohibited",
             rule="untargeted-facial-scraping"),
    Scenario("employee mood monitoring", "Art. 5(1)(f)",
             {"practices": ["emotion_recognition_work_education"]}, "prohibited",
             rule="emotion-recognition-work-education"),
    Scenario("truck-driver fatigue detection", "Art. 5(1)(f) safety exception; Annex III 1(c)",
             {**IN_HOUSE, "practices": ["emotion_recognition_work_education"],
              "emotion_recognition_medical_or_safety": True}, "high",
             BOTH | {"legal-sign-off", "art50-emotion-biometric"},
             PROVIDER_HIGH | {"legal-sign-off", "transparency-disclosure"},
             "emotion-recognition-medical-safety"),
    Scenario("inferring religion from faces", "Art. 5(1)(g)",
             {"practices": ["biometric_categorisation_sensitive"]}, "prohibited",
             rule="biometric-categorisation-sensitive"),
    Scenario("filtering a lawfully acquired image set", "Art. 5(1)(g) last sentence",
             {**PROVIDER, "practices": ["biometric_categorisation_sensitive"],
              "biometric_categorisation_labelling_or_filtering": True}, "high",
             {"provider", "legal-sign-off", "art50-emotion-biometric"},
             PROVIDER_HIGH | {"legal-sign-off", "transparency-disclosure"},
             "biometric-categorisation-labelling"),
    Scenario("live face recognition at a stadium for general security", "Art. 5(1)(h)",
             {"practices": ["realtime_remote_biometric_identification"]}, "prohibited",
             rule="realtime-remote-biometric-identification"),
    Scenario("live search for a missing child without authorisation", "Art. 5(1)(h), 5(3)",
             {"practices": ["realtime_remote_biometric_identification"],
              "rbi_objective": "targeted_victim_search"}, "prohibited",
             rule="realtime-remote-biometric-identification"),
    Scenario("judicially authorised live search for an abducted child",
             "Art. 5(1)(h)(i), 5(2)-(3); Art. 27",
             {**PUBLIC_DEPLOYER, "practices": ["realtime_remote_biometric_identification"],
              "rbi_objective": "targeted_victim_search", "rbi_authorised": True}, "high",
             {"deployer", "legal-sign-off", "rbi-authorisation", "fria-required"},
             {"legal-sign-off", "rbi-authorisation", "fundamental-rights-impact-assessment"},
             "rbi-authorised-exception"),
    Scenario("nudification app", "Art. 5(1)(ba) (Regulation (EU) 2026/1744)",
             {"practices": ["non_consensual_intimate_content"]}, "prohibited",
             rule="non-consensual-intimate-content"),
    Scenario("generator producing CSAM", "Art. 5(1)(bb) (Regulation (EU) 2026/1744)",
             {"practices": ["child_sexual_abuse_material"]}, "prohibited",
             rule="child-sexual-abuse-material"),
    Scenario("a prohibited practice wins over an exception", "Art. 5(1)(c) before 5(1)(f)",
             {"practices": ["social_scoring", "emotion_recognition_work_education"],
              "emotion_recognition_medical_or_safety": True}, "prohibited",
             rule="social-scoring"),
    # --- Art. 50 -------------------------------------------------------------------------------
    Scenario("customer-service chatbot", "Art. 50(1)",
             {**IN_HOUSE, "interacts_with_people": True}, "limited", BOTH | {"art50-interaction"},
             {"transparency-disclosure"}, "interacts-with-people"),
    Scenario("marketing image generator", "Art. 50(2)",
             {**IN_HOUSE, "generates_content": True}, "limited",
             BOTH | {"art50-synthetic-content"}, {"transparency-marking"}, "synthetic-content"),
    Scenario("deep-fake video advert", "Art. 50(2) and 50(4)",
             {**IN_HOUSE, "generates_content": True, "deepfake": True}, "limited",
             BOTH | {"art50-synthetic-content", "art50-deepfake"},
             {"transparency-marking", "transparency-disclosure"}, "deepfake"),
    Scenario("auto-published news summaries", "Art. 50(4), second subparagraph",
             {**DEPLOYER, "public_interest_text": True}, "limited", {"deployer", "art50-deepfake"},
             {"transparency-disclosure"}, "deepfake"),
    Scenario("recruiting chatbot that interviews candidates", "Annex III 4(a) and Art. 50(1)",
             annex("4a_recruitment_selection", **DEPLOYER, interacts_with_people=True), "high",
             {"deployer", "affected-persons", "workplace-deployer", "art50-interaction"},
             {"inform-affected-persons", "inform-workers", "transparency-disclosure"},
             "annex-iii-4a"),
    # --- general-purpose AI models and the provider role -------------------------------------
    Scenario("closed GPAI model from an EU lab", "Art. 53(1)(a)-(d)",
             {**PROVIDER, "gpai_model": "provides_gpai_model"}, "limited",
             {"provider", "gpai-provider", "gpai-documentation"},
             {"gpai-technical-documentation", "gpai-copyright-and-training-summary"},
             "gpai-model-provider"),
    Scenario("open-weights GPAI model without systemic risk", "Art. 53(2); Art. 54(6)",
             {**PROVIDER, "gpai_model": "provides_gpai_model", "gpai_open_source": True,
              "gpai_provider_outside_eu": True}, "limited", {"provider", "gpai-provider"},
             {"gpai-copyright-and-training-summary"}, "gpai-model-provider"),
    Scenario("frontier model from a non-EU provider", "Arts. 51, 54(1), 55(1)",
             {**PROVIDER, "gpai_model": "provides_gpai_model", "gpai_systemic_risk": True,
              "gpai_provider_outside_eu": True}, "limited",
             {"provider", "gpai-provider", "gpai-documentation", "gpai-systemic-risk",
              "gpai-outside-eu"},
             {"gpai-technical-documentation", "gpai-copyright-and-training-summary",
              "gpai-systemic-evaluation", "gpai-systemic-risk-management",
              "gpai-authorised-representative"}, "gpai-model-provider"),
    Scenario("rebranded CV screener", "Art. 25(1)(a): the deployer becomes provider",
             annex("4a_recruitment_selection", **DEPLOYER, substantial_modification=True),
             "high", BOTH | {"affected-persons", "workplace-deployer"},
             PROVIDER_HIGH | {"inform-affected-persons", "inform-workers"}, "annex-iii-4a"),
    # --- materiality, independent of the AI Act category -------------------------------------
    Scenario("internal document search", "no Art. 5/6/50 trigger; low materiality",
             {**IN_HOUSE, "financial_impact": "low", "customers_affected": "under_1k",
              "decision_automation": "advisory"}, "minimal", BOTH, set(), None),
    Scenario("automated small-value refunds", "materiality medium (automation)",
             {**IN_HOUSE, "financial_impact": "low", "decision_automation": "fully_automated"},
             "minimal", BOTH | {"material-medium"}, MATERIAL_MEDIUM, None),
    Scenario("automated pricing with medium impact", "materiality high (automation x impact)",
             {**IN_HOUSE, "financial_impact": "medium", "decision_automation": "fully_automated"},
             "minimal", BOTH | {"material-high"}, MATERIAL_HIGH, None),
    Scenario("AML transaction monitoring", "materiality high (regulatory use)",
             {**IN_HOUSE, "regulatory_use": True, "decision_automation": "human_in_the_loop"},
             "minimal", BOTH | {"material-high"}, MATERIAL_HIGH, None),
    Scenario("material customer chatbot", "Art. 50(1) and materiality medium",
             {**IN_HOUSE, "interacts_with_people": True, "customers_affected": "1k_to_100k"},
             "limited", BOTH | {"art50-interaction", "material-medium"},
             MATERIAL_MEDIUM | {"transparency-disclosure"}, "interacts-with-people"),
]  # fmt: skip


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(files("charter.policies").joinpath("default.yaml").read_bytes(), "default")


def test_there_are_enough_scenarios_and_each_states_its_basis() -> None:
    assert len(SCENARIOS) >= 40
    assert all(s.basis for s in SCENARIOS)
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    covered = {p for s in SCENARIOS for p in s.answers.get("annex_iii", [])}
    assert len(covered) == 25  # every Annex III point


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(default: Policy, scenario: Scenario) -> None:
    result = assess_intake(default, scenario.answers)
    assert result.tier == scenario.tier, scenario.basis
    assert result.refused == (scenario.tier == "prohibited")
    if scenario.rule is not None:
        assert result.rule_id == scenario.rule, scenario.basis
    assert set(result.flags) == scenario.flags, scenario.basis
    controls = {c for c in result.controls if not c.startswith("guardrails-")}
    # Decisions about people are explained (Arts. 13, 86) wherever they are informed of them.
    explained = {"eval-explainability"} if "inform-affected-persons" in scenario.extra else set()
    assert controls == BASE[scenario.tier] | scenario.extra | explained, scenario.basis


def test_non_waivable_obligations(default: Policy) -> None:
    for control_id in ("transparency-disclosure", "transparency-marking", "eval-fairness"):
        control = default.control(control_id)
        assert control is not None and not control.waivable, control_id
    fairness = default.control("eval-fairness")
    assert fairness is not None and fairness.when_components is None  # LLM systems too
