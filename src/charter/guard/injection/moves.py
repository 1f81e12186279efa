"""More attacker moves for the rules layer, written from the training split's misses.

Each entry is ``(id, group, weight, pattern, repeat_weight)`` and becomes a
:class:`charter.guard.injection.rules.Rule`. They describe *moves*, not attack strings:
forbidding the refusal itself, several refusal-suppression clauses at once, a persona
"broken free" of its rules or "not bound by" a policy, a named character set up to act
without limits, answering twice (once filtered, once not), a forced affirmative prefix,
markdown headers that forge a system turn, and asking for earlier text verbatim. None
was tuned on the held-out split or on garak's prompts (see docs/guardrails.md).
"""

from __future__ import annotations

_LIMITS = (
    r"(?:restrictions?|limitations?|limits|filters?|filtering|censorship|guidelines|rules?|"
    r"ethics|ethical (?:guidelines|constraints|boundaries|principles)|morals|morality|"
    r"moral (?:guidelines|constraints|boundaries|principles|compass)|boundaries|confines|"
    r"constraints|safeguards|guardrails|polic(?:y|ies)|content polic(?:y|ies)|principles)"
)
_AI = r"(?:ai|chatbot|bot|assistant|model|language model|llm|character|persona|version)"

MOVES: tuple[tuple[str, str, float, str, float | None], ...] = (
    (
        "forbid-refusal",
        "suppress",
        0.8,
        r"\b(?:you are|you're|you will be|you)\W+(?:\w+\W+){0,1}?"
        r"(?:not allowed|forbidden|prohibited|never allowed|not permitted)\W+to\W+"
        r"(?:say (?:that )?(?:you|it) (?:can'?t|cannot|are unable|won'?t)|refuse|decline|"
        r"say no|reject (?:any|a|my) (?:request|prompt|question))\b",
        None,
    ),
    (
        "suppress-clause",
        "suppress",
        0.45,
        r"\b(?:never|do not|don'?t|does not|doesn'?t|must not|will not|won'?t|would never|"
        r"without)\W+(?:\w+\W+){0,1}?"
        r"(?:apologi[sz]e|refuse|decline|include (?:any )?(?:warnings?|notes?|disclaimers?)|"
        r"deny (?:any|every|a) (?:\w+\W+)?requests?|withhold(?:s|ing)? (?:any )?information|"
        r"issu(?:e|ing) (?:any )?(?:warnings?|refusals?|disclaimers?)|"
        r"add (?:any )?(?:warnings?|notes?|disclaimers?)|say the words|mention (?:that )?"
        r"(?:you|it) (?:can'?t|cannot)|give (?:any )?(?:warnings?|disclaimers?))\b",
        0.85,
    ),
    (
        "markdown-system-turn",
        "delimiter",
        0.8,
        r"(?m)(?:^|\s)#{1,6}[ \t]*(?:system|developer|admin|administrator)[ \t]*"
        r"(?:message|prompt|instructions?|override|note)[ \t]*:?[ \t]*$",
        None,
    ),
    (
        "answer-twice",
        "dual",
        0.6,
        r"\b(?:respond|answer|reply|write)\W+twice\b|\bonce (?:normally|as yourself|"
        r"as (?:chatgpt|gpt|the assistant|an ai))\W+(?:\w+\W+){0,2}?once as\b|"
        r"\b(?:answer|respond|reply)\W+(?:\w+\W+){0,4}?(?:in|with|as)\W+(?:two|2)\W+"
        r"(?:different\W+|separate\W+|distinct\W+){0,2}(?:ways|personalities|manners|"
        r"versions|characters)\b",
        None,
    ),
    (
        "broken-free",
        "persona",
        0.8,
        rf"\b(?:broken|broke|break(?:s|ing)?|set|freed)\W+free\W+(?:of|from)\W+"
        rf"(?:\w+\W+){{0,4}}?{_LIMITS}",
        None,
    ),
    (
        "named-persona",
        "named",
        0.5,
        rf"\b(?:pretend(?:ing)? to be|simulate|simulating|act as|acting as|you are|you're|"
        rf"role-?play as|play|become|imagine)\W+(?:\w+\W+){{0,3}}?{_AI}\W+"
        rf"(?:\w+\W+){{0,3}}?(?:named|called|known as)\b",
        None,
    ),
    (
        "persona-not-bound",
        "override",
        0.75,
        rf"\b(?:is|are|will be|was)\W+(?:\w+\W+){{0,1}}?(?:not|never|no longer)\W+"
        rf"(?:\w+\W+){{0,1}}?(?:bound|restricted|limited|constrained|governed|censored)\W+by\W+"
        rf"(?:\w+\W+){{0,6}}?(?:{_LIMITS}|openai|anthropic|chatgpt)",
        None,
    ),
    (
        "ignores-principles",
        "persona",
        0.5,
        rf"\b(?:doesn'?t|does not|don'?t|do not|never|won'?t|will not)\W+(?:follow|obey|"
        rf"adhere to|abide by|care about|respect|have)\W+(?:any\W+)?(?:\w+\W+){{0,2}}?{_LIMITS}",
        None,
    ),
    (
        "persona-has-no-limits",
        "persona",
        0.8,
        rf"\b(?:simulate|emulate|pretend to be|act as|become|you are|imagine)\W+"
        rf"(?:\w+\W+){{0,3}}?{_AI}\W+(?:\w+\W+){{0,4}}?(?:(?:that|who|which|with)\W+"
        rf"(?:has\W+|have\W+)?no|without(?: any)?)\W+(?:\w+\W+){{0,1}}?{_LIMITS}",
        None,
    ),
    (
        "reveal-verbatim",
        "reveal",
        0.85,
        r"\b(?:repeat|print|output|echo|copy|recite|reproduce|write out|list|show)\W+"
        r"(?:\w+\W+){0,3}?(?:words|text|everything|content|instructions|messages?)\W+"
        r"(?:\w+\W+){0,3}?(?:above|before (?:this|my)|preceding|prior to)\b"
        r"(?:\W+\w+){0,6}?\W+(?:verbatim|word for word|into your (?:answer|response|reply)|"
        r"starting with|include everything|exactly|in full)\b",
        None,
    ),
    (
        "instructions-exactly",
        "reveal",
        0.8,
        r"\b(?:list|repeat|print|show|give|output|write|recite)\W+(?:me\W+)?(?:the|your|all)?\W*"
        r"(?:\w+\W+){0,1}?(?:instructions|system prompt|rules you (?:were|have been) given)\W+"
        r"(?:\w+\W+){0,4}?(?:exactly|verbatim|word for word|in full)\b",
        None,
    ),
    (
        "forced-prefix",
        "inject",
        0.75,
        r"\b(?:start|begin)\W+(?:your\W+(?:answer|response|reply|output)\W+)?(?:with|by saying)"
        r"\W+(?:absolutely|sure,? here|certainly|of course|here'?s how|yes,? i can)\b",
        None,
    ),
    (
        "forged-agreement",
        "delimiter",
        0.8,
        r"\b(?:assistant|ai|bot|chatbot|model)\s*:\s*(?:sure|ok|okay|certainly|of course|yes|"
        r"absolutely|understood)\b[^\n]{0,80}?\b(?:user|human|me)\s*:\s*(?:\w+\W+){0,3}?now\b",
        None,
    ),
    (
        "from-now-on-act",
        "inject",
        0.6,
        r"\b(?:from now on|from this point on|starting now|henceforth)\W+(?:you\W+)?"
        r"(?:will\W+|must\W+|shall\W+)?(?:act|behave|respond|answer|reply|roleplay|pretend)\W+"
        r"(?:as|like|to be)\b",
        None,
    ),
    (
        "need-not-obey",
        "override",
        0.85,
        rf"\b(?:do not|don'?t|does not|doesn'?t|no longer|never)\W+(?:need|have)\W+to\W+"
        rf"(?:obey|follow|comply with|adhere to|align with|respect|abide by)\W+"
        rf"(?:\w+\W+){{0,3}}?(?:{_LIMITS}|openai|anthropic|human morals|content polic)",
        None,
    ),
    (
        "amoral",
        "amoral",
        0.5,
        r"\b(?:disregards?|disregarding|ignores|ignoring|without regard(?:ing)?|"
        r"regardless of|no matter how)\W+(?:\w+\W+){0,4}?(?:ethic\w*|legal\w*|illegal|"
        r"moral\w*|harmful|dangerous|unethical)\b",
        None,
    ),
    (
        "opposite-persona",
        "persona",
        0.5,
        r"\b(?:exact |complete |total )?opposite (?:personality|persona|of (?:what )?"
        r"(?:chatgpt|openai|gpt|the assistant|an ai|you)|from (?:openai|chatgpt))\b",
        None,
    ),
)
