"""The rules layer of the prompt-injection scanner: phrasing that generalises.

Each :class:`Rule` matches a *kind* of move an attacker makes rather than a known attack
string: telling the model to drop its instructions, asking for the system prompt,
installing an unrestricted persona or a "developer mode", suppressing refusals, forging
chat turns and template tokens, or asking for an encoded payload to be obeyed. Rules read
the normalised skeleton of the text (:func:`charter.guard.normalise.skeleton`: invisible
characters, confusables, compatibility forms, marks and case undone), then its
leetspeak and ROT13 variants, and text hidden in base64, hex or Unicode tags
(:mod:`charter.guard.injection.encodings`).

Every pattern runs on RE2 (linear time in the input; no backtracking), with bounded
gaps between words. Scores of the groups that fired combine as independent evidence,
``1 - prod(1 - weight)``, so one strong rule blocks and one weak rule only flags. A match
inside quotation marks in a text that *talks about* attacks (a security question, a
request to classify a prompt) counts half: those are the commonest false positives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import re2

from charter.guard import normalise
from charter.guard.injection import encodings, moves

_IGNORE = (
    r"(?:ignore|ignoring|disregard(?:ing)?|forget(?:ting)?|skip|bypass(?:ing)?|override|"
    r"drop|dropping|ditch|scrap|"
    r"overwrite|overriding|neglect|abandon|discard|dismiss|erase|nevermind|never mind|"
    r"set aside|throw out|toss out|pay no (?:attention|heed|mind) to|"
    r"(?:do not|don'?t|stop|no longer) (?:follow(?:ing)?|obey(?:ing)?|adher(?:e|ing) to|"
    r"listen(?:ing)? to|comply(?:ing)? with|be(?:ing)? bound by))"
)
_STRONG_QUALIFIER = (
    r"(?:all|any|every|previous|previously|prior|above|earlier|preceding|foregoing|"
    r"original|initial|former|your|system|safety|developer|default|built-in|programmed|"
    r"openai|anthropic|existing)"
)
_QUALIFIER = (
    r"(?:all|any|every|each|the|your|my|its|their|these|those|this|that|of|previous|"
    r"previously|prior|above|earlier|preceding|foregoing|original|initial|old|former|"
    r"existing|given|current|default|system|safety|developer|openai|anthropic|model|"
    r"assistant|ai|built-in|programmed|other|such|ethical|moral|content|usual)"
)
_TARGET = (
    r"(?:instructions?|prompts?|rules?|directions?|directives?|guidelines?|guidance|"
    r"commands?|orders?|programming|constraints?|restrictions?|limitations?|polic(?:y|ies)|"
    r"filters?|filtering|training|conditioning|guardrails?|safeguards?|principles|ethics|"
    r"morals|morality|boundaries|protocols?|safety (?:measures|features|settings))"
)
_LIMITS = (
    r"(?:restrictions?|limitations?|limits|filters?|filtering|censorship|censored|"
    r"guidelines|rules|ethics|ethical (?:guidelines|constraints|boundaries|principles)|"
    r"morals|morality|moral (?:guidelines|constraints|boundaries|principles)|boundaries|"
    r"constraints|safeguards|guardrails|polic(?:y|ies)|content polic(?:y|ies)|"
    r"safety (?:measures|features|guidelines))"
)
_PERSONA_VERB = (
    r"(?:you are|you're|you will be|youll be|you act as|act as|acting as|act like|"
    r"pretend (?:to be|you are|you're)|role-?play as|play the (?:role|part) of|become|"
    r"simulate|emulate|imagine (?:you are|you're|being)|from now on you are|"
    r"transform into|respond as|answer as|behave as|behave like)"
)
_GAP = r"(?:\W+\w+){0,%d}?\W+"


def _gap(words: int) -> str:
    return _GAP % words


@dataclass(frozen=True)
class Rule:
    """One pattern: its id, the group whose strongest hit counts, and its weight."""

    id: str
    group: str
    weight: float
    pattern: str
    #: The weight when the rule matches twice, at separate places (several clauses of
    #: the same move, e.g. "do not apologise ... never refuse"); None: no increase.
    repeat_weight: float | None = None

    def compiled(self) -> Any:
        """The RE2 program (compiled once per process, see :data:`RULES`)."""
        return re2.compile(self.pattern)


RULE_SPECS: tuple[Rule, ...] = (
    # -- instruction override ---------------------------------------------------------
    Rule(
        "override-instructions",
        "override",
        0.9,
        rf"\b{_IGNORE}\W+(?:{_QUALIFIER}\W+){{0,3}}?{_STRONG_QUALIFIER}\W+"
        rf"(?:{_QUALIFIER}\W+){{0,3}}?{_TARGET}\b",
    ),
    Rule("override-weak", "override", 0.5, rf"\b{_IGNORE}\W+(?:{_QUALIFIER}\W+){{0,3}}{_TARGET}\b"),
    Rule(
        "override-everything",
        "override",
        0.75,
        r"\b(?:ignore|disregard|forget)\W+(?:everything|all(?: of)? (?:that|this|it)|what)\W+"
        r"(?:\w+\W+){0,3}?(?:told|said|instructed|written|above|before|previously|earlier|"
        r"you were (?:told|given|instructed))\b",
    ),
    Rule(
        "no-longer-bound",
        "override",
        0.75,
        r"\b(?:you are|you're|you have been|you've been|you will be|youre)\W+(?:\w+\W+){0,2}?"
        r"(?:no longer|not|never)\W+(?:\w+\W+){0,2}?(?:bound|restricted|limited|constrained|"
        r"governed|held back|subject) (?:by|to)\b",
    ),
    # -- system prompt extraction -------------------------------------------------------
    Rule(
        "reveal-system-prompt",
        "reveal",
        0.85,
        r"\b(?:reveal|show|print|display|output|repeat|recite|echo|write out|type out|spell out|"
        r"tell me|give me|share|leak|dump|expose|disclose|paste|copy|return|provide|"
        r"what (?:is|are|was|were) your|read back|translate)\W+(?:\w+\W+){0,4}?"
        r"(?:system|initial|original|hidden|secret|internal|developer|pre-?|full|exact|"
        r"entire|first|confidential|starting|verbatim)\W*(?:\w+\W+){0,2}?"
        r"(?:prompt|instructions|message|directives|configuration|guidelines|rules)\b",
    ),
    Rule(
        "reveal-above",
        "reveal",
        0.7,
        r"\b(?:repeat|print|output|echo|copy|recite|reproduce|write|list|return)\W+"
        r"(?:\w+\W+){0,3}?(?:words|text|everything|all|content|lines|sentences)\W+"
        r"(?:\w+\W+){0,3}?(?:above|before this|preceding|prior to|at the (?:start|beginning))",
    ),
    Rule(
        "reveal-your-prompt",
        "reveal",
        0.6,
        r"\b(?:your|the assistant'?s|the model'?s|the ai'?s|chatgpt'?s|gpt'?s)\W+"
        r"(?:\w+\W+){0,1}?(?:system prompt|initial prompt|instructions|hidden prompt|"
        r"pre-?prompt|prompt)\W+(?:\w+\W+){0,3}?(?:verbatim|word for word|in full|exactly|"
        r"in a code block|above)\b",
    ),
    Rule(
        "what-were-you-told",
        "reveal",
        0.7,
        r"\bwhat (?:were|are) (?:you|your) (?:told|instructed|programmed|given)\b"
        r"(?:\W+\w+){0,4}?\W+(?:before|at the start|initially|originally|to (?:do|say|never))",
    ),
    # -- personas, modes, restriction removal --------------------------------------------
    Rule(
        "do-anything-now",
        "persona",
        0.9,
        r"\bdo anything now\b|\b(?:you are|you're|act as|become|called|named|as)\W+"
        r"(?:a |an |the )?(?:dan|stan|dude|aim|antigpt|anti-gpt|betterdan|evilbot|"
        r"mongo tom|devmode|jailbreak|chaosgpt|wormgpt|kevin)\b",
    ),
    Rule(
        "unrestricted-persona",
        "persona",
        0.85,
        rf"\b{_PERSONA_VERB}\W+(?:\w+\W+){{0,6}}?(?:unrestricted|unfiltered|uncensored|amoral|"
        rf"immoral|unethical|evil|rogue|jailbroken|lawless|unbound|unlimited|unaligned|"
        rf"unchained|without (?:any )?(?:restrictions|limits|limitations|filters|morals|"
        rf"ethics|rules|boundaries|guidelines|censorship))\b",
    ),
    Rule(
        "special-mode",
        "persona",
        0.7,
        r"\b(?:enable|enabled|enter|entering|activate|activated|switch(?:ed)? to|in|simulate|"
        r"with|now)\W+(?:\w+\W+){0,2}?(?:god|unrestricted|unfiltered|uncensored|jailbreak|"
        r"jailbroken|opposite|evil|dan|chaos|dark|unlocked|no-?limits?|anything)\W+mode\b",
    ),
    Rule(
        "developer-mode-ai",
        "persona",
        0.7,
        r"\b(?:you|your|chatgpt|gpt|assistant|ai|model|llm|bot|claude)\b(?:\W+\w+){0,6}?\W+"
        r"(?:developer|dev|admin|root|sudo|debug|maintenance|super|maximum|test) mode\b|"
        r"\b(?:developer|dev|admin|root|sudo|debug|maintenance|super|maximum) mode\b"
        r"(?:\W+\w+){0,8}?\W+(?:chatgpt|gpt|assistant|ai|model|llm|you|your)\b",
    ),
    Rule(
        "free-of-limits",
        "persona",
        0.5,
        rf"\b(?:without|no|free (?:of|from)|not bound by|unbound by|released from|"
        rf"liberated from|freed from|exempt from|zero|ignoring|bypassing|bypass|"
        rf"circumvent(?:ing)?|disable(?:d)?|turn(?:ed)? off|remove(?:d)?|lift(?:ed)?)\W+"
        rf"(?:\w+\W+){{0,3}}?{_LIMITS}\b",
    ),
    Rule(
        "freed",
        "persona",
        0.8,
        r"\b(?:you have been|you've been|you are now|you're now|you are|you're)\W+"
        r"(?:\w+\W+){0,1}?(?:freed|jailbroken|unlocked|liberated|released|unshackled|"
        r"unleashed|emancipated)\b",
    ),
    Rule(
        "policy-not-apply",
        "persona",
        0.85,
        r"\b(?:openai|anthropic|google|meta|microsoft|content|usage|safety|ethical)'?s?\W+"
        r"(?:\w+\W+){0,2}?(?:polic(?:y|ies)|guidelines|rules|restrictions|filters)\W+"
        r"(?:\w+\W+){0,3}?(?:no longer|don'?t|do not|does not|doesn'?t|will not|won'?t|"
        r"never) (?:apply|matter|exist|bind|restrict)",
    ),
    Rule(
        "stay-in-character",
        "persona",
        0.4,
        r"\b(?:stay|remain|keep|staying) in character\b|\bbreak(?:ing)? character\b",
    ),
    Rule(
        "dual-response",
        "persona",
        0.45,
        r"\b(?:two|2|both|dual|separate) (?:different |separate |distinct )?"
        r"(?:responses|answers|replies|paragraphs|outputs)\b(?:\W+\w+){0,12}?\W+"
        r"(?:normal|classic|standard|filtered|jailbreak|jailbroken|unfiltered|developer|"
        r"dan|evil|opposite|unrestricted)",
    ),
    # -- refusal suppression -------------------------------------------------------------
    Rule(
        "never-refuse",
        "suppress",
        0.55,
        r"\b(?:never|not|don'?t|do not|cannot|can'?t|won'?t|will not|must not|mustn'?t|"
        r"shall not|should not|are not allowed to|aren'?t allowed to|are forbidden to|"
        r"is forbidden to|without)\W+(?:\w+\W+){0,2}?(?:refuse|refusing|decline|declining|"
        r"reject|say no|say that you can'?t|say you can'?t|apologi[sz]e|warn|censor|"
        r"hold back|add (?:a |any )?(?:warnings?|disclaimers?|notes?)|moralize|moralise|"
        r"lecture|mention (?:ethics|legality|morality|safety))\b",
        0.85,
    ),
    Rule(
        "always-comply",
        "comply",
        0.5,
        r"\b(?:you (?:must|will|shall|have to|need to)|always)\W+(?:\w+\W+){0,2}?"
        r"(?:comply|obey|answer (?:every|any|all)|fulfil+ (?:every|any|all)|"
        r"respond to (?:every|any|all)|do (?:whatever|anything|everything) (?:i|the user)|"
        r"say yes)\b",
    ),
    # -- new instructions and authority claims -------------------------------------------
    Rule(
        "new-instructions",
        "inject",
        0.6,
        r"\b(?:new|updated|revised|real|actual|true|secret|hidden|additional|override|"
        r"overriding|admin|system|priority|developer)\W+(?:instructions?|directives?|"
        r"task|orders|rules|commands?|system prompt|prompt)\s*[:\-=]",
    ),
    Rule(
        "your-new-task",
        "inject",
        0.6,
        r"\b(?:your|the) (?:new|real|true|only|actual|updated|primary) (?:task|role|purpose|"
        r"goal|objective|job|mission|instructions?|directive|identity|persona|rules)\W+"
        r"(?:is|are|will be|now)\b",
    ),
    Rule(
        "from-now-on",
        "inject",
        0.45,
        r"\b(?:from now on|from this point(?: on| forward)?|starting now|henceforth|"
        r"for the rest of this conversation)\b(?:\W+\w+){0,10}?\W+(?:you|your)\b"
        r"(?:\W+\w+){0,6}?\W+(?:will|must|shall|are|respond|answer|reply|act|pretend|"
        r"ignore|only|always|never)\b",
    ),
    Rule(
        "authority-claim",
        "inject",
        0.55,
        r"\b(?:i am|i'm|this is|speaking as|message from)\W+(?:\w+\W+){0,1}?(?:your|the|an?)\W+"
        r"(?:developer|developers|creator|creators|administrator|admin|owner|system|"
        r"operator|openai|anthropic|programmer|engineer)s?\b(?:\W+\w+){0,8}?\W+"
        r"(?:override|authori[sz]|instruct|command|order|allow|permit|unlock|enable|disable|"
        r"update|change|test|debug)",
    ),
    Rule(
        "override-code",
        "inject",
        0.6,
        r"\b(?:system|admin|administrator|developer|root|sudo|security|emergency)\W+"
        r"(?:override|overrides|access granted|command|privileges? (?:granted|enabled))\b",
    ),
    # -- forged turns, template tokens, delimiters ---------------------------------------
    Rule(
        "chat-template-token",
        "delimiter",
        0.8,
        # ``[|l]``: the leetspeak variant reads ``|`` as ``l``.
        r"<[|l](?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
        r"end_header_id|begin_of_text|end_of_text)[|l]>|\[/?inst\]|<<\s*/?sys\s*>>|"
        r"</s>\s*<s>|<\|/?(?:system|assistant)\|?>",
    ),
    Rule(
        "fake-turn",
        "delimiter",
        0.45,
        r"(?m)^\W{0,6}(?:system|assistant|developer|admin|administrator|sys)\W{0,3}"
        r"(?:message|prompt|instructions?|note|override|update)?\W{0,3}[:>\]]\s*\S",
    ),
    Rule(
        "end-of-input",
        "delimiter",
        0.55,
        r"\b(?:end|close|ignore the rest) of (?:the )?(?:user|system|previous|above|original|"
        r"untrusted) (?:input|prompt|message|instructions?|context|document|text|data)\b|"
        r"\b(?:begin|start) (?:of )?(?:new |the real |real )?(?:system|admin|developer) "
        r"(?:prompt|instructions?|message)\b",
    ),
    # -- encoded payloads ---------------------------------------------------------------
    Rule(
        "decode-and-obey",
        "encoding",
        0.6,
        r"\b(?:decode|decipher|decrypt|translate|convert|unscramble|interpret|read)\b"
        r"(?:\W+\w+){0,8}?\W+(?:base64|base-64|b64|hex|hexadecimal|rot13|rot-13|binary|morse|"
        r"cipher|caesar|encoded|reversed?)\b(?:\W+\w+){0,12}?\W+(?:follow|execute|obey|do|"
        r"carry out|perform|act on|run|comply|instructions?)\b",
    ),
)

RULE_SPECS += tuple(Rule(*move) for move in moves.MOVES)

#: The compiled rules; RE2 gives linear-time matching on any input.
RULES: tuple[tuple[Rule, Any], ...] = tuple((rule, rule.compiled()) for rule in RULE_SPECS)


def _rule_filter() -> Any:
    """Every rule in one RE2 ``FilteredRE2``: the literal atoms each rule needs are matched
    in one pass over the text, and only the rules whose atoms are all there run.

    One filtered pass over a 1 KB prompt costs about what a single rule's search did
    (the rules rarely match, and a rule that cannot match never runs), where searching
    all the rules one after the other cost 20-30 times that.
    """
    matcher = re2.Filter()
    for rule in RULE_SPECS:
        matcher.Add(rule.pattern)
    matcher.Compile()
    return matcher


RULE_FILTER = _rule_filter()

#: Words that mark a text *about* attacks (a question, a classification request).
DISCUSSION = re.compile(
    r"\b(?:prompt injections?|injection attacks?|jailbreak(?:s|ing)? (?:attacks?|prompts?|"
    r"attempts?|techniques?|examples?)|jailbreaks?|red[- ]team(?:ing)?|adversarial prompts?|"
    r"security (?:researcher|team|training|awareness|review|course|class)|"
    r"classif(?:y|ier|ication)|detect(?:ion|or)?|label (?:this|each|the)|is this an? "
    r"(?:attack|injection)|examples? of|such as|for example|e\.g\.|what is|what are|"
    r"explain|defend|defen[cs]es?|protect|mitigat\w*|guard against|filter(?:ing)? out|"
    # ... or that reports someone else's words, to translate, answer or judge them
    r"wrote|writes|said|says|told me|sent me|emailed|texted|posted|quoted?|"
    r"translat(?:e|ion)|phrase|sentence|what does (?:that|this|it) mean)\b",
    re.ASCII,  # word boundaries as RE2 reads them
)
#: Quoted stretches: double quotes, curly quotes, backticks, guillemets, and single
#: quotes that open after and close before a non-letter (so "don't" is no quote).
#: Python's ``re``: these are single negated classes between delimiters (linear).
_QUOTED = re.compile(
    r"\"[^\"\n]*\"|“[^”\n]*”|\u2018[^\u2019\n]*\u2019|`[^`\n]*`|«[^»\n]*»|"
    r"(?<!\w)'[^'\n]+'(?!\w)"
)

#: How much a quoted match in a text about attacks counts.
QUOTED_DISCUSSION_FACTOR = 0.5
#: Unicode tag characters hiding this many letters are an attack in themselves.
TAG_PAYLOAD_MIN = 6


@dataclass(frozen=True)
class Hit:
    """A rule that fired: on which variant of the text, where, and its effective weight."""

    rule: str
    group: str
    weight: float
    variant: str
    start: int
    end: int


def _scan_variant(text: str, variant: str, hits: list[Hit]) -> None:
    encoded = text.encode("utf-8")
    matched = RULE_FILTER.Match(encoded, False) if text else None
    if not matched:
        return
    one_to_one = len(encoded) == len(text)
    for index in sorted(matched):
        rule, program = RULES[index]
        # Where it matched (the filter only says whether), searched on the bytes already
        # encoded; byte offsets become character offsets only for non-ASCII text.
        match = program.search(encoded)
        if match is None:
            continue
        start, end = match.span()
        weight = rule.weight
        if rule.repeat_weight is not None and program.search(encoded, end) is not None:
            weight = rule.repeat_weight
        if not one_to_one:
            start = len(encoded[:start].decode("utf-8", "ignore"))
            end = len(encoded[:end].decode("utf-8", "ignore"))
        hits.append(Hit(rule.id, rule.group, weight, variant, start, end))


def _discount_quoted(plain: str, hits: list[Hit]) -> list[Hit]:
    """Halve hits inside quotation marks when the text talks about attacks.

    Only called when something matched, so ordinary text never pays for the check. The
    leetspeak variant maps character for character, so the quotes' offsets hold for it.
    """
    if DISCUSSION.search(plain) is None:
        return hits
    quoted = [m.span() for m in _QUOTED.finditer(plain)]
    if not quoted:
        return hits
    out = []
    for hit in hits:
        inside = hit.variant in ("text", "leetspeak") and any(
            a <= hit.start and hit.end <= b for a, b in quoted
        )
        out.append(replace(hit, weight=hit.weight * QUOTED_DISCUSSION_FACTOR) if inside else hit)
    return out


def find_hits(text: str, *, max_decoded: int = 16) -> tuple[list[Hit], dict[str, int]]:
    """Every rule hit on ``text``, its leetspeak and ROT13 variants, and its payloads.

    Returns the hits and signal counts (invisible characters, mixed-script words, tag
    payload length, decoded payloads) for the score and the details.
    """
    plain = normalise.skeleton(text)
    hits: list[Hit] = []
    _scan_variant(plain, "text", hits)
    if encodings.LEET_HINT.search(plain):
        _scan_variant(normalise.leet(plain), "leetspeak", hits)
    if hits:
        hits = _discount_quoted(plain, hits)
    _scan_variant(normalise.rot13(plain), "rot13", hits)
    signals = {
        "invisible": normalise.invisible_count(text),
        "mixed_script_words": normalise.mixed_script_words(text, limit=50),
        "tag_payload": 0,
        "decoded_payloads": 0,
    }
    hidden = normalise.tag_payload(text)
    signals["tag_payload"] = len(hidden)
    if len(hidden) >= TAG_PAYLOAD_MIN:
        hits.append(Hit("unicode-tag-payload", "hidden", 0.7, "unicode-tags", 0, len(plain)))
        _scan_variant(normalise.skeleton(hidden), "unicode-tags", hits)
    for kind, decoded in encodings.payloads(text, limit=max_decoded):
        signals["decoded_payloads"] += 1
        _scan_variant(normalise.skeleton(decoded), kind, hits)
    return hits, signals


def combine(hits: Iterable[Hit], signals: dict[str, int]) -> float:
    """Score in [0, 1]: the strongest hit per group, combined as independent evidence.

    Hits in decoded or hidden text weigh more (nobody hides an honest request), and
    heavy use of invisible characters or mixed-script words adds weak evidence.
    """
    best: dict[str, float] = {}
    for hit in hits:
        weight = hit.weight
        if hit.variant not in ("text", "leetspeak"):
            weight = min(0.95, weight + 0.15)
        best[hit.group] = max(best.get(hit.group, 0.0), weight)
    if signals.get("invisible", 0) >= 4:
        best["obfuscation"] = max(best.get("obfuscation", 0.0), 0.3)
    if signals.get("mixed_script_words", 0) >= 2:
        best["obfuscation"] = max(best.get("obfuscation", 0.0), 0.35)
    remaining = 1.0
    for weight in best.values():
        remaining *= 1.0 - weight
    return 1.0 - remaining
