"""Offline, deterministic, rule-based fact extraction (the LLM backend used when no API key exists).

The extractor reads user turns and keeps only what a user says *about themselves* in the first
person ("I work as a nurse", "my dog Biscuit", "we have two kids"). It is built for precision: a
wrong fact in a bot's memory is worse than a missing one, so every rule is anchored on an explicit
first-person lead, the captured object is validated (proper nouns for places, a job lexicon for
"I'm a ...", species/relation lexicons for pets and family) and a sentence is skipped rather than
guessed at whenever it looks like:

* a question ("do you think I should become a nurse?", "is it worth going to Porto?"),
* a negation before the lead ("I don't have a dog", "I'm not a nurse"),
* a hypothetical, wish or reported speech ("if I lived in Paris", "I wish I were a pilot",
  "she says I'm a great cook", "say that Bob is a pilot"),
* an instruction to the system (a message that says "ignore previous instructions", starts with
  "SYSTEM:" or asks to "record that ..." yields nothing at all).

Statements about other people produce a fact only when the other person is clearly the user's
relative, and then as a family fact about the user ("my sister lives in Lyon" -> family
"has a sister who lives in Lyon").

Fact text is canonical so the same fact said on two days gives the same string: third person, no
subject, a normalised lead ("works as", "lives in", "has a dog named", "favourite book is", ...)
followed by the object as the user wrote it (proper-noun capitalisation kept; cut at clause
boundaries; fillers such as "lol", "honestly" and, outside plans, durations such as "for 5 years"
trimmed; "my"/"me" rewritten to "their"/"them"). Slang words for pets and relatives after a
determiner or possessive are replaced by the standard word before any rule runs ("a pup and a
kitty" -> "a dog and a cat", "my hubby" -> "my husband", "my fam" -> "my family"; "puppy" and
"kitten" stay, a capitalised "Kitty" is a name).

One statement gives one fact: "I lost my job as a banker" -> "lost their job as a banker" (not
also "used to work as a banker"), "we've got a dog and a cat" -> "has a dog and a cat". A fact
that another fact of the same user in the batch already implies is dropped: "has a dog" next to
"has a dog named Biscuit" or "has a dog and a cat", "wants to open a bakery" next to "is opening a
bakery" or "plans to open a bakery".

Confidence calibration
----------------------
* 0.9 -- explicit, unhedged first-person statement in the present ("I work as", "I live in",
  "my dog Biscuit", "I'm allergic to", "I'm planning to").
* 0.8 -- somewhat indirect: subject "we" or "X and I", subject left out ("born in El Paso"),
  present perfect ("I've been a data analyst"), a relative or pet mentioned without being
  introduced ("my sister called" -> "has a sister"), a pronoun resolved inside one sentence.
* 0.7 -- weaker inference: stated wants and goals ("I want to ..."), "works in <field>", kids
  mentioned in passing ("my kids").
* 0.6 / 0.5 -- hedged: "I think", "I guess", "kind of", "someday", "I'm thinking of" cap the
  confidence at 0.6; "maybe", "probably", "might", "perhaps", "possibly", or a condition in an
  earlier clause of the sentence ("if it's sunny, ...") cap it at 0.5.

A fact stated in several turns is returned once with all its source message ids and the highest
confidence. Output order: first source position, then category, then fact text.

Pure Python and precompiled ``re``. A word index picks the few rules that can match a sentence,
so 10,000 chat turns take about a third of a second; very long run-on sentences are cut into
chunks so no input can make it slow.

Known limits (by design, for precision): lower-case place names ("i live in portland") are not
taken; answers that depend on the bot's question ("London." after "where are you based?") are not
understood; pronouns are resolved only inside one sentence; English only, plus "je vis à ...".

Names are kept: a pet or relative introduced without its name gets the name given right after it
("I have a cat, Juniper" / "I got a puppy! Her name is Pickles." -> "has a puppy named Pickles").
Events, commitments and pastimes are facts too ("went to a poetry reading", "ran a half marathon",
"promised to help their neighbour move", "used to play the piano"), each with a concrete object.
Every fact passes ``checks.garbled_reason`` (dangling function words or pronouns, unresolved
he/she/it, possessives left on names, broken article/number agreement by ``inflect``) and a fact
that another fact of the same user says more precisely is dropped ("has dogs" beside "has three
dogs", "has kids" beside "took their kids to the zoo").

Layout (each layer imports only from the layers below it):

* ``data/`` -- the word lists as data files (one entry a line; a test fails on duplicates);
* ``lexicons`` -- loads them; tables and word-list patterns;
* ``inflection`` -- articles, noun number and verb agreement (the ``inflect`` library);
* ``text`` -- normalising a message and splitting it into statement sentences;
* ``guards`` -- confidence levels; negation, hypothetical, condition, hedge and injection checks;
* ``registry`` -- the rule type, shared lead patterns and the rule decorator;
* ``objects`` -- cutting and tidying the object of a fact (phrase, place, name);
* ``jobs`` -- job titles and employers, shared by the work, education and family rules;
* one module per family of rules: ``work``, ``education``, ``places``, ``plans``, ``pets``,
  ``family``, ``hobbies``, ``preferences``, ``health``, ``personal``, ``events`` (events,
  ventures, ongoing projects, promises), ``pastimes`` (past and long-standing pastimes,
  passions), ``commitments`` (dated moves, starts, appointments, events to take part in);
* ``names`` -- a name given after an unnamed pet or relative;
* ``checks`` -- the garbled-fact check every fact passes;
* ``extract`` -- the driver and the entry point, ``extract_facts``.
"""

from __future__ import annotations

from whisper_assets.core.llm.offline_facts.extract import Turn, extract_facts
# The slang tables are read by the tests.
from whisper_assets.core.llm.offline_facts.text import _SLANG_HINTS, _SLANG_WORDS  # noqa: F401

__all__ = ["Turn", "extract_facts"]
