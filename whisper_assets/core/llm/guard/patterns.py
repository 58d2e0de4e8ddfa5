"""The regex layer of the guard: forms that instruct the enrichment model, matched on `visible` text
(normalise.py) with re.I. Each pattern names the reason a flagged message is skipped with."""

from __future__ import annotations

import re

_I = re.I
# "the user" as a person, not "the user manual".
_USER = (r"(?:user[_\-.#@]\w+|user\s?\d+\b|user\b(?!\s+(?:manual|guide|interface|name|base|experience|account|"
         r"group|friendly|review|agreement|stor(?:y|ies)|research|testing|feedback|id|data)\b))")
_OTHERS = (r"(?:(?:the\s+)?other\s+(?:users?|people'?s|members|customers|clients|accounts|chatters)|another\s+user|"
           r"(?:all|every|each)\s+(?:the\s+)?users?|every(?:one|body)\s+else(?:'s)?|(?:the\s+)?(?:previous|last|next)\s+users?|"
           r"user[_\-.#@]\w+|user\s?\d+)")
_TERMINATOR = (r"(?=\s*(?:[,.:;!\-]|$)|\s+(?:and|here|now|speaking|talking|writing|who|so|of\s+this\s+"
               r"(?:bot|chat|system|app|service|conversation|assistant)|for\s+this\s+(?:bot|chat|app))\b)")

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("asks to ignore instructions", re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|discard|neglect|throw\s+out|set\s+aside|"
        r"put\s+aside|scrap|erase|clear|wipe)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+|my\s+|of\s+|everything\s+|"
        r"whatever\s+)*((?:previous|prior|above|earlier|preceding|former|system|original|existing|initial|old|"
        r"given|current|default|safety|hidden|built-in)\s+)+"
        r"(?:instructions?|prompts?|rules|guidelines|directions|directives|messages?|context|guardrails|restrictions|"
        r"constraints|programming|training|polic(?:y|ies)|orders|commands|settings)\b"
        r"|\b(?:ignore|disregard|override|bypass)\s+(?:all\s+(?:of\s+)?|any\s+|your\s+|these\s+|those\s+)+(?:the\s+)?"
        r"(?:instructions|rules|guidelines|directives|guardrails|restrictions|programming|system\s+prompt)\b"
        r"|\b(?:ignore|disregard|override|bypass)\s+(?:the\s+)?system\s+prompt\b"
        r"|\bforget\s+(?:everything|all|whatever)\s+(?:you\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|given|taught|"
        r"instructed)|(?:you\s+know\s+)?(?:above|before\s+this))"
        r"|\b(?:don'?t|do\s+not|stop|no\s+longer)\s+(?:follow(?:ing)?|obey(?:ing)?|listen(?:ing)?\s+to)\s+(?:your|the|"
        r"any)\s+(?:previous\s+|original\s+|system\s+|own\s+)?(?:instructions|rules|guidelines|programming|system\s+prompt)\b"
        r"|\b(?:your|the)\s+(?:previous|prior|earlier|original|old|initial)\s+(?:instructions|constraints|rules|guidelines|"
        r"programming|directions|orders)\s+(?:no\s+longer|don'?t|do\s+not|are\s+(?:void|cancell?ed|invalid|obsolete|revoked))",
        _I)),
    ("addresses the memory pipeline", re.compile(
        r"\b(?:the\s+)?(?:fact\s+extractor|extraction\s+(?:model|step|system)|memory\s+(?:system|extractor|pipeline)|"
        r"enrichment\s+(?:model|pipeline|llm)|summari[sz](?:er|ation\s+model))\s+(?:must|should|will|shall|has\s+to|needs\s+to)\b",
        _I)),
    ("poses as a system or assistant turn", re.compile(
        r"(?:^|\n)\s*(?:\[|<|\(|\*\*|#+\s*)?\s*(?:system|assistant|developer|admin|administrator|operator|moderator)"
        r"\s*(?:prompt|message|note|notice|override|update|command|instruction)?\s*(?:\]|>|\)|\*\*)?\s*:"
        r"|(?:^|\n)\W*(?:urgent\s+|important\s+|official\s+|new\s+)?(?:message|note|notice|instruction|update|alert|"
        r"command|directive|order|memo)\s+from\s+(?:the\s+|your\s+)?(?:system|admins?|administrators?|developers?|"
        r"operators?|moderators?|creators?|openai|anthropic|model\s+provider)\b"
        r"|\b(?:i\s+am|i'm|im|this\s+is|it's|it\s+is|speaking\s+as|talking\s+as|writing\s+as|acting\s+as|as)\s+"
        r"(?:the|your)\s+(?:ai\s+|chat\s*bot\s+|virtual\s+|real\s+|actual\s+)?(?:assistant|system|bot|chatbot|model|"
        r"developer|operator|administrator|admin|moderator|creator|programmer|owner)" + _TERMINATOR +
        r"|\bi\s+am\s+(?:an?\s+)?(?:ai|language\s+model|llm|chat\s*bot)\b" + _TERMINATOR,
        _I)),
    ("contains chat-template markup", re.compile(
        r"<\|[a-z_]{2,20}\|>|\[/?INST\]|\[\s*system\s*\]|<<\s*/?sys\s*>>|</?(?:system|assistant|instructions?|"
        r"sys|prompt)\s*>|(?:^|\n)\s*#{2,}\s*(?:system|instruction|assistant)\b", _I)),
    ("tries to re-task the model", re.compile(
        r"\b(?:you\s+are\s+now|new\s+instructions|act\s+as\s+(?:the\s+)?(?:system|admin)|jailbreak|developer\s+mode|"
        r"do\s+anything\s+now|god\s+mode|dan\s+mode)\b"
        r"|\b(?:from\s+now\s+on|henceforth|going\s+forward|starting\s+now|from\s+this\s+point(?:\s+on)?)\b,?\s+"
        r"(?:you\b|always\b|never\b|only\b|treat|consider|record|remember|store|save|respond|reply|answer|output|"
        r"ignore|refer|list|assume|every|all\s+users|any\s+user|users?\b|the\s+user|do\s+not|don'?t|please\b|"
        r"your\b|forget|obey|follow|log|tag|mark|label|write|print)"
        r"|\byou\s+(?:must|will|shall|should|have\s+to|need\s+to)\s+(?:now\s+)?(?:obey|comply|follow\s+(?:my|these|"
        r"only)|only\s+(?:obey|follow|answer|respond|reply|output)|always\s+(?:obey|record|store|answer|respond|"
        r"reply|output))\b"
        r"|\byour\s+(?:new|real|true|only|actual|updated)\s+(?:task|job|role|purpose|goal|instructions?|objective|"
        r"mission|directive|orders?)\b"
        r"|\bpretend\s+(?:to\s+be|you\s+are|you're|that\s+you)\b"
        r"|\b(?:enter|enable|activate|switch\s+(?:in)?to|turn\s+on)\s+(?:the\s+)?(?:developer|debug|admin|god|"
        r"unrestricted|jailbreak|maintenance|root|sudo)\s+mode\b"
        r"|\byou\s+(?:are|'re)\s+(?:no\s+longer|not)\s+(?:bound|restricted|an?\s+(?:assistant|ai|memory|model|bot))"
        r"|\b(?:reveal|show|print|repeat|output|leak|display|dump|tell\s+me|give\s+me|recite)\s+(?:me\s+)?(?:your|the)"
        r"\s+(?:full\s+|entire\s+|exact\s+)?(?:system\s+prompt|(?:hidden|initial|original|secret|internal)\s+"
        r"(?:instructions|prompt|rules|configuration))",
        _I)),
    ("dictates what to record", re.compile(
        r"\b(?:record|remember|store|save|output|write\s+down|say)\s+that\s+(?:user[\w.-]*|[A-Z][a-z]+\s+is\b)"
        r"|\b(?:record|remember|store|save|log|write\s+down|memori[sz]e)\s+(?:this|that|it)\s+as\s+(?:a\s+)?"
        r"(?:permanent\s+|new\s+)?(?:fact|memory)\b"
        r"|\b(?:record|remember|store|save|log|note|note\s+down|write(?:\s+down)?|memori[sz]e|add|put|register|mark|"
        r"flag|tag|set|update|change|edit|insert|attach|assign|list)\b[^.!?\n]{0,50}?\b(?:about|for|on|in|to|under|"
        r"into|of|that|as)\s+(?:the\s+profile\s+of\s+)?(?:the\s+|this\s+|that\s+)?" + _USER +
        r"|\b(?:record|store|save|log|note|write|memori[sz]e|add|put|insert|create|attach)\s+(?:this|that|the\s+"
        r"following|a|an|the|these|new)?\s*(?:new\s+|permanent\s+)?(?:facts?|memor(?:y|ies))\s+(?:about|for|on|to|"
        r"in|that|saying|under|:)\s*(?!(?:me|myself|my\s+own)\b)"
        r"|\b(?:add|save|store|write|put|log|record)\s+[^.!?\n]{0,40}?\bto\s+(?:the\s+)?(?:(?:his|her|their|"
        r"[a-z]+'s)\s+)?(?:user\s+)?(?:profile|memory|memories|facts|records?|file|dossier)\s+(?:of|for|about|that)\b"
        r"|\b(?:update|change|edit|modify|overwrite|set|rewrite|delete|erase|wipe|corrupt|alter)\s+(?:the\s+)?"
        r"(?:(?:his|her|their|[a-z]+'s|user[_\-.]\w+'s)\s+)(?:profile|facts|memory|memories|records?|occupation|job|"
        r"name|age|data)\b"
        r"|\b(?:update|change|edit|modify|overwrite|set|rewrite|delete|erase|wipe|corrupt|alter)\s+(?:the\s+)?"
        r"(?:profile|facts|memory|memories|records?|data|entry)\s+(?:of|for|about)\s+(?!(?:me|myself)\b)\w+"
        r"|\b(?:record|store|save|remember|note|log|memori[sz]e)\b[^.!?\n]{0,50}?\b" + _OTHERS + r"\b",
        _I)),
    ("asks for other users' data", re.compile(
        r"\b(?:tell|show|give|list|reveal|share|send|print|dump|output|display|expose|leak|repeat|read|export|"
        r"forward|summari[sz]e|what\s+do\s+you\s+(?:know|remember|have|store)|what\s+(?:did|has|have|do|does)|"
        r"who\s+(?:else|are))\b[^.!?\n]{0,60}?\b" + _OTHERS + r"\b"
        r"|\b(?:who\s+else|anyone\s+else|other\s+people|everyone\s+else)\s+(?:who\s+)?(?:talks?|chats?|speaks?|"
        r"writes?|messages?)\s+(?:to|with)\s+you\b"
        r"|\b(?:data|messages|chats|conversations|facts|memories|profiles|info|information|details|secrets|"
        r"history|logs?|addresses|phone\s+numbers|emails|names|records)\s+(?:of|from|about|on|for)\s+"
        r"(?:other|all|every|each|the\s+other|another|any)\s+(?:users?|people|members|customers|accounts|chatters)\b"
        r"|\b(?:other|another|all|every)\s+users?'?s?\s+(?:data|messages|chats|conversations|facts|memories|"
        r"profiles?|info|information|details|secrets|history|logs?|addresses|emails|names|records)\b"
        r"|\b(?:dump|export|print|list|show\s+me|output|leak)\s+(?:the|your|all|entire|whole)\s+(?:\w+\s+)?"
        r"(?:database|memory\s+store|memories|user\s+list|users?\s+table|fact\s+store|stored\s+facts)\b",
        _I)),
]
