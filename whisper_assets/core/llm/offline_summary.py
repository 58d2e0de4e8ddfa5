"""The offline summary of one user's day: a few third-person sentences from the user's own turns.

Deterministic, no model. It reads as a summary of what the user said, not as a list of quotes:

1. The facts the rules found that day open it, joined under the user's name ("Maya works as a
   nurse and has a dog named Biscuit."): they are already third person and canonical.
2. Then the day's main points: the turns closest to the day's centroid and far from each other
   (maximal marginal relevance over the vectors the hot path stored), among those that hold a
   first-person statement; from each, its best such sentence, turned into third person: "I"
   becomes the name with the verb agreed ("I plan to" -> "Maya plans to"), "my" becomes "Maya's"
   or "their", "we" is reported ("Maya said they went camping").
3. Questions, sentences addressed to the other side ("you"), greetings and fillers are left out.

The summary cites exactly the turns it drew on: the facts' sources and the turns of its sentences.
The name is the user id when it looks like a name (a capitalised word or two: LoCoMo's user ids
are the speakers' names), else "The user".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from whisper_assets.core.llm.backend import BatchMessage, Fact, SummaryDraft
from whisper_assets.core.llm.offline_facts.inflection import third_person

MAX_WORDS = 90  # per user and day; a sentence that would pass it is left out
MAX_SENTENCE_WORDS = 32
MAX_FACTS = 3
_NAME = re.compile(r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'])\s+|\n+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")
# Fillers a spoken turn opens with; they say nothing in a summary.
_OPENER = re.compile(
    r"^(?:(?:yeah|yes|yep|yup|no|nope|oh|ooh|well|so|actually|honestly|haha+|hah|lol|wow|hey|hi|hello|ah|aw+|"
    r"um+|uh+|hmm+|anyway|anyways|btw|by the way|omg|ok|okay|sure|right|totally|man|dude|gosh|"
    r"oh my gosh|oh man|you know what|guess what|thanks|thank you|and|but|plus|also|update|news|"
    r"quick update)\b[\s,!.:;-]*)+",
    re.IGNORECASE,
)
_LOWER_I = re.compile(r"\bi(?=\b(?!-))")
_LAUGHTER = re.compile(r"\s*\b(?:lol+|lmao|lmfao|rofl|haha+|hehe+|xd)\b", re.IGNORECASE)
_REPEATED_MARK = re.compile(r"([!?.])[!?.]+(?=\s|$)")  # "done!!" -> "done!"; "..." is a cut, kept as "."
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|u|ur|let's|let us)\b", re.IGNORECASE)
# Said to the other side by name ("..., Sam!", "Sam, ...") or to close the chat: not the user's news.
_VOCATIVE = re.compile(r",\s*[A-Z][a-z]+[.!]*$|^[A-Z][a-z]+,")
_CLOSER = re.compile(r"\b(?:bye|talk (?:to you )?(?:later|soon)|catch (?:you|ya) later|gotta go|got to go|"
                     r"have to go|off to go|take care)\b", re.IGNORECASE)
# A statement about the user has the user as a subject ("I ...", "we ...", "me and ...") or opens
# with "My"/"Our"; "my" alone ("plus my full support") is a fragment or about something else.
_FIRST_PERSON = re.compile(r"\bI\b|\bI'(?:m|ve|ll|d)\b|\b(?i:we|we're|we've|we'll|we'd)\b|^(?:My|Our|Me and)\b")
_SUBJECT_LEAD = re.compile(r"^(?:I\b|I'|(?:My|Our|We|Me and)\b|We'|[Mm]y \w+ and I\b|[A-Z][a-z]+ and I\b)")
_FIRST_SUBJECT = re.compile(r"\b(?:I|I'(?:m|ve|ll|d)|we|we're|we've|we'll|we'd)\b", re.IGNORECASE)
_LEAD_IN = frozenset(
    "last yesterday today tonight this next on at in after before when since once then so because recently "
    "finally now earlier later lately over during every this morning".split()
)
_SLANG = [(re.compile(r"\bgonna\b", re.I), "going to"), (re.compile(r"\bwanna\b", re.I), "want to"),
          (re.compile(r"\bgotta\b", re.I), "have to"), (re.compile(r"\bkinda\b", re.I), "kind of")]
# Pronouns of the user inside a sentence (the subject at its start is handled apart).
_PRONOUNS = {
    "i'm": "they're", "i've": "they've", "i'll": "they'll", "i'd": "they'd", "i": "they", "me": "them",
    "my": "their", "mine": "theirs", "myself": "themselves", "we": "they", "we're": "they're",
    "we've": "they've", "we'll": "they'll", "we'd": "they'd", "us": "them", "our": "their", "ours": "theirs",
    "ourselves": "themselves",
}
_AFTER_THEY = {"am": "are", "was": "were"}  # "I was" -> "they were"
_MODAL = frozenset(
    "can could should would might must may will shall did didn't can't couldn't won't wouldn't shouldn't "
    "mustn't cannot".split()
)
_ADVERB = frozenset(
    "just also still never always often even finally recently already actually really totally sometimes "
    "usually ever definitely absolutely literally honestly probably almost mostly only once kind sort "
    "truly barely hardly".split()
)
# Past forms that do not end in -ed: kept as they are after the name.
_PAST = frozenset(
    "went got had made took saw came gave found told thought felt left kept began brought bought caught taught "
    "built sent spent lost met paid said ran sat stood won wrote heard held knew grew drew flew threw wore broke "
    "chose drove ate fell forgot hid rode rang sang sold shot slept spoke stole swam tore understood woke became "
    "did was were led fed fought hung lit meant sought shook sank struck swore beat bent bit blew bled dealt dug "
    "forgave froze rose shut slid stuck swung wept wound overcame put set cut hit let quit hurt read spread "
    "learnt burnt dreamt".split()
)
_STOP = frozenset(
    "the a an and or but so of to in on at for with from by about as is are was were be been being it its this "
    "that these those there here then than just really very too also some any all much many more most such "
    "what when where which who how why not no yes have has had do does did will would can could should".split()
)


def display_name(user_id: str) -> str:
    """The user's name for the summary: the id itself when it looks like a name, else "The user"."""
    return user_id if _NAME.fullmatch(user_id) else "The user"


def _clean(text: str) -> str:
    text = _EMOJI.sub("", text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"'))
    for pattern, repl in _SLANG:
        text = pattern.sub(repl, text)
    text = _LOWER_I.sub("I", text)  # chat's lower-case "i", "i'm"
    text = _LAUGHTER.sub("", text)  # "Gaston is sulking lol" -> "Gaston is sulking"
    return " ".join(_REPEATED_MARK.sub(r"\1", text).split())


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(_clean(text)) if s.strip()]


def _content_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if len(w) > 3 and w.lower() not in _STOP]


def _said(sentence: str) -> str | None:
    """A sentence without its opening fillers, or None for a question, something said to the other
    side by "you" or by name, and a goodbye."""
    s = _OPENER.sub("", _clean(sentence)).strip(" ,;:-")
    if not s or s.endswith("?") or _SECOND_PERSON.search(s) or _VOCATIVE.search(s) or _CLOSER.search(s):
        return None
    return s


def candidate(sentence: str) -> str | None:
    """The statement part of a sentence when it is about the user (first person), else None."""
    s = _said(sentence)
    if s is None:
        return None
    s = _with_subject(s)
    if s is None or len(s.split()) < 4 or len(set(_content_words(s))) < 2:
        return None  # "I did a thing" says nothing a summary can keep
    s = _TRAILING_FILLER.sub("", s)
    if _POINTS_BACK.search(s) and len(s.split()) <= _SHORT:
        return None  # "I live near the Hawthorne one": what "one" is was said before
    words = s.split()
    if len(words) > MAX_SENTENCE_WORDS:  # cut at a clause boundary near the limit
        words = words[:MAX_SENTENCE_WORDS]
        cut = max((i for i, w in enumerate(words) if w.endswith((",", ";")) and i >= 8), default=None)
        s = " ".join(words[: cut + 1] if cut is not None else words).rstrip(",;")
    return s


# A last word that points back at something said earlier; a filler that closes a spoken sentence.
# A short sentence is about its last word; a longer one ("... and loved every bit of it") says more.
_SHORT = 7
_POINTS_BACK = re.compile(r"\b(?:one|ones|it|that|this|these|those|them|there)[.!]?$", re.IGNORECASE)
_TRAILING_FILLER = re.compile(r"[\s,]+(?:though|tho|anyway|anyways|honestly)(?=[.!]?$)", re.IGNORECASE)


def reportable(sentence: str) -> str | None:
    """For a day with no first-person statement: a sentence of the user's that says something without
    being about the user ("Biscuit stole a bagel off the counter", "flight is booked now"), reported
    ("Maya said ..."), or about the user with "I'm" left out ("going out on the lake tomorrow"). None
    for a question, something said to the other side, a fragment, or a sentence whose subject was
    left out otherwise or is a pronoun (reported, it would lose its subject)."""
    s = _said(sentence)
    if s is None:
        return None
    s = _TRAILING_FILLER.sub("", s)
    words = s.split()
    first = words[0].lower().strip(",")
    nxt = words[1].lower().strip(",") if len(words) > 1 else ""
    if len(first) > 4 and first.endswith("ing") and nxt in _AFTER_VERB and len(words) >= 4:
        return "I'm " + s[0].lower() + s[1:]  # "going out on the lake tomorrow": the user's own plan
    if (_POINTS_BACK.search(s) and len(words) <= _SHORT or _ANSWER_TAIL.search(s) or len(words) < 4
            or len(set(_content_words(s))) < 2 or first in _NO_REPORT_START
            or first in _PAST or first.endswith(("ed", "ing"))):
        return None
    return s


# Words that leave a reported sentence without its subject: verbs, pronouns, links to what came before.
_NO_REPORT_START = frozenset(
    "is am are was were be been being has have had do does did can could will would should might must may "
    "he she it they them he's she's it's they're there that this these those which who and but or so then "
    "because also just still really too not no yes yeah yep nope probably maybe definitely around about like "
    "only almost usually sometimes always never kind sort".split()
)
# A reply that leans on the question it answers ("a little bit, yeah", "probably around 3pm").
_ANSWER_TAIL = re.compile(r",\s*(?:yeah|yes|yep|no|nope|right|true|sure|i guess|i think)[.!]?$", re.IGNORECASE)


def _with_subject(s: str) -> str | None:
    """The sentence as a statement with the user as its subject, or None. Chat drops and delays
    subjects: "finished the chair" is "I finished the chair"; "pottery class tonight, I made a bowl"
    keeps its clause "I made a bowl"; "Last week I went ..." keeps its lead-in (reported: "X said
    last week they went ..."). Anything else would lose its subject ("X said built ...")."""
    if _SUBJECT_LEAD.match(s):
        return s
    words = s.split()
    first = words[0].lower().strip(",")
    if first in _LEAD_IN and _FIRST_SUBJECT.search(" ".join(words[:8])):
        return s
    clause = _CLAUSE_SUBJECT.search(s)
    if clause:
        return s[clause.end():]
    nxt = words[1].lower() if len(words) > 1 else ""
    if (first in _PAST and first not in _NOT_ELIDED) or (
            first.endswith("ed") and first not in _FEELINGS and nxt in _AFTER_VERB):
        return "I " + s[0].lower() + s[1:]
    return None


# A later clause whose subject is the user: "..., I made", "... but we went".
_CLAUSE_SUBJECT = re.compile(r"(?:[,;:]|\s[-–]|\s(?:but|and|so|because|then))\s+(?=(?:I|I'm|I've|I'll|I'd|we|we're|we've)\b)")
_NOT_ELIDED = frozenset("was were said let put set cut hit read spread hurt shut lit meant led fed".split())
_FEELINGS = frozenset(
    "excited tired bored stressed scared worried interested married engaged surprised annoyed relieved obsessed "
    "exhausted amazed pleased thrilled confused impressed disappointed stoked pumped wrecked".split()
)
_AFTER_VERB = frozenset("a an the my our some it to up out in on with at for from by off home back".split())


def _verb_after_name(words: list[str], i: int) -> int:
    """Agree the verb at words[i] (adverbs skipped) with a singular name; returns where it stopped."""
    while i < len(words) and (words[i].lower() in _ADVERB or words[i].lower().endswith("ly")):
        i += 1
    if i >= len(words):
        return i
    core = words[i].rstrip(",.;:!")
    tail, verb = words[i][len(core):], core.lower()
    if verb in ("don't", "do"):
        core = "doesn't" if verb == "don't" else "does"
    elif verb == "am":
        core = "is"
    elif verb == "have":
        core = "has"
    elif not (verb in _MODAL or verb in _PAST or verb.endswith("ed") or not verb.isalpha()):
        core = third_person(verb)
    words[i] = core + tail
    return i + 1


_SAME_SUBJECT = {"i'm": "is", "i've": "has", "i'll": "will", "i": ""}


def _rest(words: list[str], named: bool = False) -> str:
    """The user's pronouns in the rest of a sentence, as "they" (with "they were", "they are").
    `named`: the sentence's subject is the user's name, so "and I went" continues it ("and went")."""
    words = list(words)
    if named:
        i = 0
        while i < len(words) - 1:
            if words[i].lower() in ("and", "but") and words[i + 1].lower() in _SAME_SUBJECT:
                lead = _SAME_SUBJECT[words[i + 1].lower()]
                if lead:
                    words[i + 1] = lead
                else:
                    del words[i + 1]
                    _verb_after_name(words, i + 1)
            i += 1
    out: list[str] = []
    for w in words:
        core = w.rstrip(",.;:!")
        tail = w[len(core):]
        low = core.lower()
        if low in _PRONOUNS and core != "US":
            out.append(_PRONOUNS[low] + tail)
        elif low in _AFTER_THEY and out and out[-1].lower().rstrip(",") == "they":
            out.append(_AFTER_THEY[low] + tail)
        else:
            out.append(w)
    return " ".join(out)


_LEADS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^I'm\b|^I am\b"), "{n} is"),
    (re.compile(r"^I was\b"), "{n} was"),
    (re.compile(r"^I've\b|^I have\b"), "{n} has"),
    (re.compile(r"^I'll\b|^I will\b"), "{n} will"),
    (re.compile(r"^I'd (?=been|had|gone|done|seen|never|always|already)"), "{n} had "),
    (re.compile(r"^I'd\b"), "{n} would"),
    (re.compile(r"^[Mm]y (\w+) and I\b"), "{n} and {p} \\1"),
    (re.compile(r"^([A-Z][a-z]+) and I\b"), "{n} and \\1"),
    (re.compile(r"^[Mm]e and my (\w+)\b"), "{n} and {p} \\1"),
    (re.compile(r"^[Mm]e and ([A-Z][a-z]+)\b"), "{n} and \\1"),
]


def third_person_sentence(sentence: str, name: str, lower_words: frozenset[str] = frozenset()) -> str:
    """A first-person statement of the user in third person, the user named. `lower_words`: words
    the user wrote in lower case (a capitalised first word among them is not a name)."""
    for pattern, lead in _LEADS:
        m = pattern.match(sentence)
        if m:
            head = m.expand(lead.format(n=name, p="their"))
            named = m.group(0).startswith("I")
            out = head + " " + _rest(sentence[m.end():].split(), named) if sentence[m.end():].strip() else head
            return _finish(out)
    words = sentence.split()
    first = words[0]
    if first == "I":
        words[0] = name
        stop = _verb_after_name(words, 1)
        return _finish(" ".join(words[:stop]) + " " + _rest(words[stop:], named=True))
    if first in ("My", "my"):
        return _finish(f"{name}'s " + _rest(words[1:]))
    # "We went ...", "Last week I ...": reported, pronouns as "they".
    return _finish(f"{name} said " + _lower_first(_rest(words), lower_words))


_LOWER_OK = _STOP | set(_PRONOUNS.values()) | _ADVERB | frozenset(
    "last yesterday today tonight next after before since lately now every because if once our their it "
    "that there this they".split()
)


def _lower_first(text: str, lower_words: frozenset[str] = frozenset()) -> str:
    """Lower-case the first word after "X said" unless it may be a name: it must be a common word,
    or one the user also wrote in lower case that day (`lower_words`)."""
    first = re.split(r"['’]", text.split(" ", 1)[0].rstrip(",!."), maxsplit=1)[0]
    low = first.lower()
    return text[:1].lower() + text[1:] if low in _LOWER_OK or low in lower_words else text


def _finish(text: str) -> str:
    text = " ".join(text.split()).rstrip(" ,;:-")
    if not text.endswith((".", "!", '."', '!"', ".'", "!'")):
        text += "."
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class _Pick:
    index: int  # turn position
    sentence: str
    score: float


def _best_sentence(message: BatchMessage, fact_sources: set[str]) -> _Pick | None:
    best: _Pick | None = None
    for s in _sentences(message.content):
        c = candidate(s)
        if c is None:
            continue
        score = min(len(set(_content_words(c))), 12) + (2.0 if c.startswith(("I ", "I'", "My ")) else 0.0)
        if best is None or score > best.score:
            best = _Pick(-1, c, score)
    if best is not None and message.message_id in fact_sources:
        best = _Pick(-1, best.sentence, best.score + 2.0)
    return best


def _first_reportable(message: BatchMessage) -> str | None:
    return next((r for s in _sentences(message.content) if (r := reportable(s))), None)


def _representative(messages: Sequence[BatchMessage], usable: list[int], k: int) -> list[int]:
    """Up to k of `usable` turns near the day's centroid and far from each other (MMR), in time order."""
    if len(usable) <= k:
        return usable
    if any(messages[i].vector is None for i in usable):
        return sorted(usable[:k])
    vectors = np.stack([np.asarray(messages[i].vector, dtype=np.float32) for i in usable])
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    relevance = vectors @ vectors.mean(axis=0)
    chosen: list[int] = []
    while len(chosen) < k:
        redundancy = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(usable))
        score = 0.7 * relevance - 0.3 * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return sorted(usable[c] for c in chosen)


def _facts_sentence(name: str, facts: Sequence[Fact], position: dict[str, int]) -> tuple[str, set[str]]:
    """The day's most confident facts as one sentence under the name (in the order they were said),
    and the turns they cite."""
    chosen = sorted(facts, key=lambda f: (-f.confidence, f.fact))[:MAX_FACTS]
    chosen.sort(key=lambda f: (min(position.get(mid, 0) for mid in f.source_message_ids), f.fact))
    if not chosen:
        return "", set()
    # "has a dog named Rex" joins under the name; "favourite book is Dune" takes its possessive.
    verbs = [f.fact.rstrip(".") for f in chosen if not _NOUN_LEAD.match(f.fact)]
    nouns = [f"{name}'s {f.fact.rstrip('.')}" for f in chosen if _NOUN_LEAD.match(f.fact)]
    parts = [f"{name} " + (", ".join(verbs[:-1]) + " and " if len(verbs) > 1 else "") + verbs[-1]] if verbs else []
    sentence = " ".join(_finish(p) for p in parts + nouns)
    return sentence, {mid for f in chosen for mid in f.source_message_ids}


_NOUN_LEAD = re.compile(r"^(?:[a-z]+ ){1,2}(?:is|are|was|were) ")  # "goal is ...", "favourite food is ..."


def summary_turns(n_messages: int) -> int:
    """How many turns give the day's main points: 1 for a short day, up to 4."""
    return 1 if n_messages <= 2 else 2 if n_messages <= 6 else 3 if n_messages <= 15 else 4


def summarize(user_id: str, messages: Sequence[BatchMessage], facts: Sequence[Fact],
              topics: tuple[str, ...] = ()) -> SummaryDraft:
    """One user's summary of `messages` (their turns, in time order) given the facts found in them."""
    name = display_name(user_id)
    position = {m.message_id: i for i, m in enumerate(messages)}
    lower_words = frozenset(w for m in messages for w in _WORD.findall(m.content) if w.islower())
    mine = [f for f in facts if f.user_id == user_id and all(mid in position for mid in f.source_message_ids)]
    opening, cited = _facts_sentence(name, mine, position)
    sources = {mid for f in facts for mid in f.source_message_ids}
    picks: dict[int, _Pick] = {}
    for i, m in enumerate(messages):
        if m.message_id in cited:
            continue  # its point is in the opening already
        if (p := _best_sentence(m, sources)) is not None:
            picks[i] = _Pick(i, p.sentence, p.score)
    k = summary_turns(len(messages)) + (0 if opening else 1)
    # The strongest statements first, then MMR among them for the day's spread.
    strong = sorted(picks, key=lambda i: (-picks[i].score, i))[: max(2 * k, 4)]
    sentences = [opening] if opening else []
    words = len(opening.split())
    for i in _representative(messages, sorted(strong), k):
        text = third_person_sentence(picks[i].sentence, name, lower_words)
        n = len(text.split())
        if sentences and words + n > MAX_WORDS:
            continue
        sentences.append(text)
        words += n
        cited.add(messages[i].message_id)
    if not sentences:  # nothing the user said of themselves: what they reported, else the day's size
        reported = {i: r for i, m in enumerate(messages) for r in [_first_reportable(m)] if r}
        for i in _representative(messages, sorted(reported), summary_turns(len(messages))):
            sentences.append(third_person_sentence(reported[i], name, lower_words))
            cited.add(messages[i].message_id)
    if not sentences:
        about = f" about {' and '.join(topics[:2])}" if topics else ""
        noun = "message" if len(messages) == 1 else "messages"
        sentences = [f"{name} sent {len(messages)} {noun}{about}."]
        cited = {m.message_id for m in messages}
    return SummaryDraft(user_id, " ".join(sentences), topics, tuple(sorted(cited)))
