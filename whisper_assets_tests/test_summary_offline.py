"""The offline summariser (core/llm/offline_summary.py): third-person sentences from the user's own
turns, naming the user, citing exactly the turns they draw on, deterministic. Sentences written
for these tests."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from whisper_assets.core.llm.backend import BatchMessage, Fact
from whisper_assets.core.llm.offline import OfflineBackend
from whisper_assets.core.llm.offline_summary import (
    MAX_WORDS, candidate, display_name, summarize, third_person_sentence,
)
from whisper_assets.core.llm.schemas import Category

T0 = datetime(2025, 3, 14, 8, 0, tzinfo=timezone.utc)


def day(user: str, texts: list[str]) -> list[BatchMessage]:
    """A day of `user`'s turns, a minute apart, each with a fixed pseudo-random unit vector."""
    out = []
    for i, text in enumerate(texts):
        rng = np.random.default_rng(i)
        v = rng.standard_normal(384).astype(np.float32)
        out.append(BatchMessage(str(uuid.UUID(int=i + 1)), user, text, T0 + timedelta(minutes=i), v / np.linalg.norm(v)))
    return out


@pytest.mark.parametrize(
    ("user_id", "name"),
    [("Maya", "Maya"), ("Anna Lee", "Anna Lee"), ("Jean-Luc", "Jean-Luc"), ("user_alice", "The user"),
     ("maya", "The user"), ("8412", "The user"), ("MAYA", "The user"), ("", "The user")],
)
def test_the_user_id_is_the_name_only_when_it_looks_like_one(user_id, name):
    assert display_name(user_id) == name


@pytest.mark.parametrize(
    ("said", "summary"),
    [
        ("I adopted a second cat on Sunday and I'm planning to build her a climbing shelf.",
         "Maya adopted a second cat on Sunday and is planning to build her a climbing shelf."),
        ("Oh, I really love painting sunsets by the lake.", "Maya really loves painting sunsets by the lake."),
        ("I teach piano to three kids on weekends", "Maya teaches piano to three kids on weekends."),
        ("I don't drink coffee anymore.", "Maya doesn't drink coffee anymore."),
        ("I'm moving to a flat near the harbour in May.", "Maya is moving to a flat near the harbour in May."),
        ("I was so nervous before the audition.", "Maya was so nervous before the audition."),
        ("I've been learning Dutch because my partner's family lives in Utrecht.",
         "Maya has been learning Dutch because their partner's family lives in Utrecht."),
        ("I'd never tried sailing before, it was scary but fun.",
         "Maya had never tried sailing before, it was scary but fun."),
        ("I'd love to visit Japan one day.", "Maya would love to visit Japan one day."),
        ("I'll start the new job at the clinic next week.", "Maya will start the new job at the clinic next week."),
        ("My brother and I went fishing on Saturday.", "Maya and their brother went fishing on Saturday."),
        ("Me and my cousin are opening a small bakery next spring.",
         "Maya and their cousin are opening a small bakery next spring."),
        ("My garden is finally full of tomatoes.", "Maya's garden is finally full of tomatoes."),
        ("We drove to the coast and camped for two nights!",
         "Maya said they drove to the coast and camped for two nights!"),
        ("Last month I finished my first half marathon.",
         "Maya said last month they finished their first half marathon."),
        ("I think I need a new job, my manager keeps yelling at me.",
         "Maya thinks they need a new job, their manager keeps yelling at them."),
        ("I'm gonna repaint the kitchen.", "Maya is going to repaint the kitchen."),
        ("And btw, i have been saving up for a new bike.", "Maya has been saving up for a new bike."),
        ("Our band played its first gig on Friday.", "Maya said their band played its first gig on Friday."),
    ],
)
def test_first_person_statements_become_third_person_under_the_name(said, summary):
    assert third_person_sentence(candidate(said), "Maya") == summary


@pytest.mark.parametrize(
    "said",
    [
        "Do you like hiking?",  # a question
        "That sounds amazing, tell me more about your trip",  # about the other side
        "How did your exam go? I hope it went well",  # question and second person
        "Thanks so much!",  # no statement about the user
        "I agree completely, Sam!",  # said to the other side by name
        "Anyway, I have to go now, talk to you later",  # closing the chat
        "Let's meet again soon, I would like that",  # a proposal to the other side
        "I see.",  # too short to say anything
        "The weather was lovely on the hills today.",  # not about the user
        "Plus my full support for the plan.",  # no subject: a fragment
        "Been a long week for me.",  # the user is not its subject
    ],
)
def test_what_is_not_a_statement_about_the_user_is_left_out(said):
    assert candidate(said) is None


DAY = [
    "Hi there!",
    "I adopted a second cat named Pepper on Saturday, she is tiny and loud.",
    "How was your weekend?",
    "My sister Lena came over and we built a climbing shelf for the cats.",
    "Haha that is so funny.",
    "I'm planning to take Pepper to the vet on Thursday for her first shots.",
    "I also started a pottery class at the community centre, it is harder than I expected.",
    "See you soon!",
]


def test_a_day_reads_as_a_third_person_summary_that_cites_only_what_it_draws_on():
    msgs = day("Maya", DAY)
    draft = summarize("Maya", msgs, [], ("pets",))
    text = draft.text
    assert text.startswith("Maya ") and text.count("Maya") >= 2
    assert not re.search(r"\b(?:I|I'm|my|me|we|you|your)\b", text), text  # no first or second person left
    assert "“" not in text and "Said:" not in text and "Talked about" not in text  # not quotes or a topic list
    assert "Pepper" in text  # names kept
    ids = {m.message_id: i for i, m in enumerate(msgs)}
    cited = sorted(ids[mid] for mid in draft.message_ids)
    assert cited and set(cited) <= {1, 3, 5, 6}  # never the greeting, the question, the laugh or the goodbye
    assert len(text.split()) <= MAX_WORDS
    assert draft.topics == ("pets",)
    # deterministic: the same day gives the same summary
    assert summarize("Maya", day("Maya", DAY), [], ("pets",)) == draft


def test_the_days_facts_open_the_summary_and_their_turns_are_cited():
    msgs = day("Maya", DAY)
    facts = [
        Fact("Maya", Category.PET, "has a cat named Pepper", 0.9, (msgs[1].message_id,)),
        Fact("Maya", Category.HOBBY, "takes a pottery class", 0.8, (msgs[6].message_id,)),
        Fact("Maya", Category.PREFERENCE, "favourite colour is green", 0.8, (msgs[6].message_id,)),
        Fact("Omar", Category.PET, "has a dog", 0.9, (msgs[3].message_id,)),  # someone else's: not used
    ]
    draft = summarize("Maya", msgs, facts)
    assert draft.text.startswith("Maya has a cat named Pepper and takes a pottery class. "
                                 "Maya's favourite colour is green.")
    assert "has a dog" not in draft.text
    assert {msgs[1].message_id, msgs[6].message_id} <= set(draft.message_ids)
    assert summarize("Maya", msgs, list(reversed(facts))) == draft  # the facts' order does not matter


def test_a_quoted_title_ends_its_sentence_and_the_next_one_is_apart():
    msgs = day("Maya", ['Our choir sang a piece called "Blue Harbour." It went well.'])
    assert summarize("Maya", msgs, []).text == 'Maya said their choir sang a piece called "Blue Harbour."'


def test_a_user_id_that_is_no_name_is_the_user():
    draft = summarize("user_4821", day("user_4821", DAY[:4]), [])
    assert draft.text.startswith("The user ") and "user_4821" not in draft.text


def test_a_day_without_a_statement_says_so_briefly_and_cites_the_day():
    msgs = day("Maya", ["Hello!", "How are you doing?", "Haha, nice."])
    draft = summarize("Maya", msgs, [], ("greetings",))
    assert draft.text == "Maya sent 3 messages about greetings."
    assert set(draft.message_ids) == {m.message_id for m in msgs}


def test_a_long_day_keeps_to_the_word_budget():
    texts = [f"I spent hour {i} of the day sorting the boxes of old letters from my grandmother in the attic."
             for i in range(40)]
    draft = summarize("Maya", day("Maya", texts), [])
    assert len(draft.text.split()) <= MAX_WORDS and 1 <= len(draft.message_ids) <= 5


def test_the_offline_backend_summarises_each_user_citing_their_own_turns():
    maya = day("Maya", DAY[:4])
    omar = [BatchMessage(str(uuid.uuid4()), "Omar", "I fixed the old bicycle in my garage yesterday.",
                         T0 + timedelta(hours=1), maya[0].vector)]
    result = OfflineBackend().enrich(maya + omar)
    assert set(result.summaries) == {"Maya", "Omar"}
    assert set(result.summaries["Maya"].message_ids) <= {m.message_id for m in maya}
    assert result.summaries["Omar"].message_ids == (omar[0].message_id,)
    assert result.summaries["Omar"].text == "Omar fixed the old bicycle in their garage yesterday."


@pytest.mark.parametrize(("said", "summary"), [
    ("finished the bookshelf for the spare room", "Noor finished the bookshelf for the spare room."),
    ("choir practice tonight, I sang the solo part twice", "Noor sang the solo part twice."),
    ("The bus was late again but I reached the interview on time",
     "Noor reached the interview on time."),
    ("Last month I started volunteering at the animal shelter", "Noor said last month they started volunteering at the animal shelter."),
])
def test_a_dropped_or_delayed_subject_becomes_the_user(said, summary):
    from whisper_assets.core.llm.offline_summary import candidate, third_person_sentence

    assert third_person_sentence(candidate(said), "Noor") == summary


@pytest.mark.parametrize("said", [
    "I did a thing.",  # nothing to keep
    "excited about the weekend with my cousins",  # a feeling, not a verb with the user as subject
    "The weather was awful all week long.",  # not about the user
    "Honestly the fence looks great now.",  # no clause with the user as subject
    "Painted most of the fence blue I think.",  # never "Noor said painted ...": the subject is lost
])
def test_statements_without_the_user_as_subject_are_left_out(said):
    from whisper_assets.core.llm.offline_summary import candidate

    assert candidate(said) is None



def test_a_day_of_reported_news_reports_it_and_cites_only_those_turns():
    msgs = day("Maya", ["lol the cat knocked a whole plant off the shelf", "nope", "she laughed so hard",
                        "ferry tickets are booked now! May 2 to May 9"])
    draft = summarize("Maya", msgs, [])
    assert draft.text == ("Maya said the cat knocked a whole plant off the shelf. "
                          "Maya said ferry tickets are booked now!")
    assert set(draft.message_ids) == {msgs[0].message_id, msgs[3].message_id}


def test_sentences_that_point_back_are_left_out_and_closing_fillers_dropped():
    from whisper_assets.core.llm.offline_summary import candidate

    assert candidate("I ended up buying the blue one.") is None
    assert candidate("I finally planted the tomatoes though.") == "I finally planted the tomatoes."


def test_replies_that_lean_on_their_question_are_not_reported():
    from whisper_assets.core.llm.offline_summary import reportable

    assert reportable("a little bit, yeah.") is None
    assert reportable("probably right after work, around six.") is None
    assert reportable("A neighbour gave us a huge box of tomatoes.") == "A neighbour gave us a huge box of tomatoes."


def test_plans_without_their_subject_and_names_of_two_words():
    from whisper_assets.core.llm.offline import keywords

    msgs = day("Maya", ["heading up to Lake Placid on Friday with my cousin Ines, hoping for snow"])
    assert summarize("Maya", msgs, []).text.startswith("Maya is heading up to Lake Placid on Friday")  # a day of no "I"
    assert keywords([msgs[0].content])[:2] == ["Lake Placid", "Friday"]
