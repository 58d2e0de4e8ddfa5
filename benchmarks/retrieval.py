"""Benchmark `recall()`: latency at 10,000 users, 1,000,000 facts, 300,000 summaries and 1,000,000 messages.

What it does, in one run (about 4.5 minutes on the 2-core box, 1.5 of them writing the messages to Qdrant):

1. creates a scratch database on the local PostgreSQL (127.0.0.1:5432, user postgres; override with
   --admin-url), applies the migrations in sql/ (so it measures exactly the shipped indexes), and
   loads with COPY: 10 bots x 1,000 users; 100 facts per user (12 categories, 1-3 source ids);
   30 daily summaries per user on distinct days of the 90 before `now` (3-8 source ids) and a 384-d
   vector per summary; 100 past messages per user (--messages-per-user) into `pending_messages`,
   on the user's summary days between 07:00 and 23:30 UTC (none after `now`), 70% said by the
   user, with the 384-d float32 vector as bytea. Rows are interleaved across users, as they
   accumulate in production (a user's facts sit on ~100 different heap pages, not one; messages
   are in the order enrichment stages them: by day, bot, time). Summary texts come from a pool of
   1,000 generated texts embedded with the real model; each summary's vector is its text's.
   Message texts come from a pool of 2,194 generated chat lines (user lines: templates x 4
   statements on each of 30 topics, and small talk; bot lines: templates x topics, and small
   talk), embedded with the real model; each user talks about 6 of the 30 topics (85% of their
   lines) and makes small talk;
2. loads the same vectors and payloads into an embedded Qdrant (qdrant-edge, in /dev/shm):
   `summaries` as `replace_summary_vectors` writes them, `messages` with
   `MessageStore.upsert_messages` (the hot path's payload, `Message.payload(stored_ms)`), in time
   order;
3. runs >= 1,000 recalls for random users, interleaving the variants so machine noise hits all:
   (a) facts + time-range summaries (`semantic=False`) with questions that name a time or a
       category ("what did we talk about last week?", "what do you know about my job?"...);
   (b) + semantic search with topical questions, query embedding included, searched in Qdrant
       (store held open) and, the default without a store, ranked from Postgres vectors; both
       search the summaries and the messages (Qdrant `messages` collection, or the user's latest
       1,000 `pending_messages` rows (MAX_MESSAGES_SCANNED) ranked in numpy);
   (b') the same (user, question) with a precomputed query vector: (b) without the embedding;
   every timing covers `recall(...)` and `result.as_context()`;
4. reports p50/p90/p99/max, the message search alone (timings_ms["messages"], messages returned,
   how many are on the question's topic, whether Qdrant and Postgres agree), the embedding alone,
   the cost of embedding a user's 100 fact texts per query (why facts are routed by category and
   words instead), EXPLAIN of each statement and the indexes in use; drops the database and the
   Qdrant directory.

Run from the repository root:
    .venv/bin/python benchmarks/retrieval.py > benchmarks/results/retrieval.json
    .venv/bin/python benchmarks/retrieval.py --users 1000 --queries 200      # quick
JSON goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whisper_assets.core.embedding import EMBEDDING_MODEL, get_embedder  # noqa: E402
from whisper_assets.core.llm.schemas import Category  # noqa: E402
from whisper_assets.core.messages import Message, Role, epoch_ms, from_epoch_ms, message_id_for  # noqa: E402
from whisper_assets.memory.retrieval import (  # noqa: E402
    MAX_FACTS_SCANNED, MAX_MESSAGES_SCANNED, RecallOptions, embed_query, recall,
)
from whisper_assets.core.settings import load_settings  # noqa: E402
from whisper_assets.stores.postgres import get_engine  # noqa: E402  (migrates on first use)
from whisper_assets.stores.qdrant import open_store  # noqa: E402

UTC = timezone.utc
NOW = datetime(2025, 11, 12, 15, 0, tzinfo=UTC)
TARGET_A_P99_MS = 20.0
TARGET_B_P99_MS = 30.0
POOL = 1000
BOTS = 10
FACTS_PER_USER = 100
SUMMARIES_PER_USER = 30
HISTORY_DAYS = 90
MESSAGES_PER_USER = 100
TOPICS_PER_USER = 6  # the topics a user keeps coming back to
USER_SHARE = 0.7  # of messages said by the user (the rest: bot replies)
ON_TOPIC_SHARE = 0.85  # of a user's lines about one of their topics (the rest: small talk)
BOT_ON_TOPIC_SHARE = 0.8

TIME_QUESTIONS = [
    "what did we talk about last week?",
    "what do you know about my job?",
    "what did I tell you yesterday?",
    "tell me about my pets",
    "what did we discuss two weeks ago?",
    "where do I live?",
    "what happened in October?",
    "anything about my family since the 3rd?",
    "what did we talk about this week?",
    "what do you remember from last month?",
    "what did we talk about on Monday?",
    "what are my hobbies?",
]
TOPIC_QUESTIONS = [
    "how is my marathon training going?",
    "did we talk about my new kitten?",
    "what did I say about cooking curry last week?",
    "remind me about the trip to Lisbon",
    "what was the problem with my boss at work?",
    "how is my sister's wedding planning going?",
    "what did I say about learning the guitar?",
    "any updates on my knee injury?",
    "what did we say about moving to a new apartment?",
    "which book was I reading in October?",
    "what did I think of the pottery class?",
    "how did my job interview go yesterday?",
]
TOPICS = [
    "training for a marathon", "a new kitten called Miso", "cooking a Thai curry", "a trip to Lisbon",
    "a conflict with their boss at work", "their sister's wedding plans", "learning the guitar",
    "a knee injury from running", "moving to a new apartment", "a mystery novel they are reading",
    "a pottery class", "a job interview at a hospital", "their dog's vet visit", "planting tomatoes",
    "a broken laptop", "a birthday party for their son", "learning Japanese", "a hiking weekend",
    "their grandmother's health", "saving money for a car", "a chess tournament", "a noisy neighbour",
    "a new vegan diet", "a concert they went to", "their night shifts as a nurse", "a camping trip",
    "painting the kitchen", "a podcast about history", "a cold they caught", "a promotion at work",
]
DETAILS = [
    "and felt optimistic", "and asked for advice", "and were worried about the cost", "and made a plan",
    "and joked about it", "and seemed tired", "and wanted to try again next week", "and shared photos",
]
# Chat lines per topic, in the same order as TOPICS (TOPIC_QUESTIONS[i] asks about TOPICS[i]):
# (what the user calls it, four things a user says about it).
CHAT_TOPICS = [
    ("my marathon training", ["I ran 18 miles this morning for the marathon",
                              "my long run felt terrible today, my legs were dead by mile 12",
                              "only six weeks until the marathon and my pace is still slow",
                              "I bought new running shoes for race day"]),
    ("my new kitten Miso", ["Miso knocked my coffee off the table again", "the kitten finally used the litter box",
                            "Miso has been sleeping on my keyboard all day", "took Miso for her first vaccines"]),
    ("cooking Thai curry", ["I made a green curry from scratch tonight", "the curry came out way too spicy",
                            "I found a shop that sells fresh lemongrass and galangal",
                            "I'm trying a massaman curry recipe this weekend"]),
    ("my trip to Lisbon", ["just booked flights to Lisbon for May", "we're staying in Alfama near the castle",
                           "I need to try pasteis de nata when I'm in Lisbon",
                           "the number 28 tram in Lisbon was completely packed"]),
    ("the situation with my boss", ["my boss criticized my report in front of everyone",
                                    "I'm thinking of talking to HR about my manager",
                                    "my boss keeps scheduling meetings at 6pm",
                                    "had a really tense one-on-one with my boss today"]),
    ("my sister's wedding", ["my sister asked me to be her maid of honor",
                             "we went dress shopping for my sister's wedding",
                             "the wedding venue cancelled on my sister",
                             "I have to give a speech at my sister's wedding"]),
    ("learning the guitar", ["my fingertips hurt from practicing guitar chords",
                             "I finally nailed the F barre chord",
                             "I practice Wonderwall on the guitar every night",
                             "thinking about taking guitar lessons"]),
    ("my knee injury", ["my knee is swollen again after the run", "the physio gave me exercises for my knee",
                        "I had an MRI on my knee yesterday", "I can't climb stairs without knee pain"]),
    ("moving to a new apartment", ["signed the lease for the new apartment", "packing boxes all weekend for the move",
                                   "the new apartment has a balcony and way more light",
                                   "the movers are coming on Saturday"]),
    ("the mystery novel I'm reading", ["I can't put down this mystery novel",
                                       "I think the butler is the killer in my book",
                                       "just finished chapter 20 of the detective novel",
                                       "the plot twist in this mystery was wild"]),
    ("my pottery class", ["I made my first bowl on the wheel at pottery class",
                          "my vase collapsed on the pottery wheel",
                          "it was glazing day at the pottery studio", "pottery class is the best part of my week"]),
    ("my job interview at the hospital", ["I have a job interview at the hospital on Thursday",
                                          "the interview panel asked about my night shift experience",
                                          "I think the hospital interview went really well",
                                          "still waiting to hear back from the hospital about the job"]),
    ("my dog's vet visit", ["the vet said my dog needs to lose weight", "took Biscuit to the vet for his limp",
                            "the vet bill was way more than I expected", "my dog shakes every time we go to the vet"]),
    ("my tomato plants", ["planted six tomato seedlings in the garden", "my tomatoes have some yellow leaves",
                          "harvested the first cherry tomatoes today", "squirrels keep eating my tomatoes"]),
    ("my broken laptop", ["my laptop screen just went black", "spilled tea all over my laptop keyboard",
                          "the repair shop wants 400 dollars to fix my laptop",
                          "should I buy a new laptop or fix the old one"]),
    ("my son's birthday party", ["planning a dinosaur themed party for my son",
                                 "ordered the birthday cake for my son's party",
                                 "twelve kids are coming to my son's birthday", "my son turns seven next week"]),
    ("learning Japanese", ["I learned all the hiragana this week",
                           "my Japanese teacher says my pronunciation is improving",
                           "katakana is so confusing", "did 30 minutes of Japanese flashcards today"]),
    ("my hiking weekend", ["we hiked 15 km up to the ridge", "got caught in the rain on the trail",
                           "planning a hiking weekend in the mountains", "my boots gave me blisters on the hike"]),
    ("my grandmother's health", ["my grandmother is back in the hospital",
                                 "grandma's blood pressure is finally stable",
                                 "visited my grandmother at the care home", "I'm worried about my grandma's memory"]),
    ("saving for a car", ["I put 300 dollars into my car fund", "I've saved half of what I need for a car",
                          "I've been looking at used hybrids", "cutting out takeout to save for the car"]),
    ("the chess tournament", ["I won three games at the chess tournament", "lost to a 12 year old at the chess club",
                              "studying the Sicilian defense", "my chess rating went up 50 points"]),
    ("my noisy neighbour", ["my neighbour played loud music until 3am",
                            "left a note for the noisy neighbour upstairs",
                            "the neighbour's dog barks all day",
                            "I might complain to the landlord about the neighbour"]),
    ("my vegan diet", ["day ten of eating vegan", "I miss cheese so much on this vegan diet",
                       "made a really good lentil stew", "my doctor wants me to check my B12 since I went vegan"]),
    ("the concert", ["the concert last night was amazing", "we were right at the front of the stage",
                     "my ears are still ringing from the concert", "got tickets to see the band again in spring"]),
    ("my night shifts", ["three night shifts in a row on the ward", "I can't sleep during the day after night shifts",
                         "the ER was chaos on my night shift", "night shifts are wrecking my sleep schedule"]),
    ("the camping trip", ["we pitched the tent by the lake", "it was freezing in the tent last night",
                          "we forgot the camping stove", "saw so many stars on the camping trip"]),
    ("painting the kitchen", ["we picked sage green for the kitchen walls", "spent all Sunday painting the kitchen",
                              "the kitchen cabinets need a second coat", "the kitchen looks brand new now"]),
    ("the history podcast", ["listening to a podcast about the Roman empire",
                             "the episode on the French revolution was great",
                             "that history podcast made my commute fly by",
                             "learned so much about Byzantium from the podcast"]),
    ("my cold", ["I woke up with a sore throat and a runny nose", "still coughing from this cold",
                 "staying in bed with tea and honey", "I think I caught a cold from my coworker"]),
    ("my promotion", ["I got promoted to team lead!", "my new role starts next month",
                      "negotiating the salary for my promotion", "nervous about managing my former peers"]),
]
USER_LINE_TEMPLATES = [
    "{s}", "so {s}", "honestly, {s}", "ok so {s}", "guess what, {s}", "{s} and I'm kind of stressed about it",
    "{s}, any advice?", "{s}. what do you think?", "update on {what}: {s}", "{s} lol", "ugh, {s}",
    "quick update: {s}", "{s}, so that's nice", "can we talk about {what}? {s}", "remember {what}? {s}",
]
USER_WHAT_TEMPLATES = ["I keep thinking about {what}", "not sure how I feel about {what}",
                       "{what} is taking up all my time", "nothing new with {what} really"]
BOT_LINE_TEMPLATES = [
    "How is {what} going?", "That's great news about {what}!", "Oh no, I'm sorry. Is {what} getting any better?",
    "You mentioned {what} last time, any news?", "Good luck with {what}!", "What's the next step with {what}?",
    "It sounds like {what} means a lot to you.", "Do you want some tips for {what}?",
]
USER_SMALL_TALK = [
    "haha that's funny", "ok thanks!", "how's your day going?", "long day at work today", "I'm so tired lol",
    "what should I cook tonight?", "did you see the game last night?", "the weather is awful here",
    "can you recommend a podcast?", "brb", "good morning!", "good night, talk tomorrow", "lol yes exactly",
    "I'm bored, tell me a joke", "it's raining again", "just got home", "sorry, I was busy earlier",
    "what's a good movie to watch tonight?", "I had the best coffee this morning", "monday again...",
    "can't believe it's already the weekend", "thanks, that helps a lot", "hmm I'm not sure", "hey, you there?",
]
BOT_SMALL_TALK = [
    "Good morning! How did you sleep?", "Haha, I'm glad that made you laugh.", "Anytime! Anything else on your mind?",
    "That sounds like a long day. Make sure you rest.", "Sleep well, talk tomorrow!", "I'm here. What's up?",
    "No worries at all.", "How about a quick stir-fry tonight?", "Here's one: why did the scarecrow win an award?",
    "Welcome back! How was your day?",
]
FACT_TEMPLATES = {
    Category.OCCUPATION: "works as a {w}", Category.EMPLOYER: "works at {W} Corp",
    Category.EDUCATION: "studied {w} at university", Category.LOCATION: "lives in {W}ville",
    Category.TRAVEL: "visited {W} last year", Category.PET: "has a pet named {W}",
    Category.FAMILY: "has a cousin called {W}", Category.HOBBY: "enjoys {w} on weekends",
    Category.PREFERENCE: "favourite food is {w}", Category.HEALTH: "is allergic to {w}",
    Category.PLAN: "plans to learn {w}", Category.OTHER: "owns a {w} collection",
}
WORDS = ["nursing", "pottery", "ramen", "chess", "cello", "tango", "sushi", "kayaking", "peanuts", "gardening",
         "painting", "coding", "baking", "surfing", "violin", "origami", "hiking", "climbing", "tennis", "jazz"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    q = lambda p: v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]  # noqa: E731
    return {"n": len(v), "p50_ms": round(q(50), 3), "p90_ms": round(q(90), 3), "p99_ms": round(q(99), 3),
            "mean_ms": round(statistics.fmean(v), 3), "max_ms": round(v[-1], 3)}


def fake_uuid(a: int, b: int) -> str:
    return f"{a & 0xffffffff:08x}-{(a >> 32) & 0xffff:04x}-4{b & 0xfff:03x}-8000-{b:012x}"


def users(n_users: int) -> list[tuple[str, str]]:
    return [(f"bot{i % BOTS}", f"user_{i:05d}") for i in range(n_users)]


# -- loading -------------------------------------------------------------------------------------------

def copy(engine: sa.Engine, table: str, columns: str, chunks, size: int = 8192) -> int:
    raw = engine.raw_connection()
    total = 0
    try:
        cur = raw.cursor()
        for chunk in chunks:
            buf = io.StringIO("".join(chunk))
            cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf, size=size)
            total += len(chunk)
        raw.commit()
    finally:
        raw.close()
    return total


def fact_chunks(pairs: list[tuple[str, str]], rng: random.Random, chunk: int = 100_000):
    cats = list(Category)
    rows: list[str] = []
    n = 0
    for k in range(FACTS_PER_USER):  # interleaved: fact k of every user, then fact k+1...
        for u, (bot, user) in enumerate(pairs):
            cat = cats[(u + k) % len(cats)] if k < 24 else rng.choice(cats)
            word = WORDS[(u * 7 + k) % len(WORDS)]
            text = FACT_TEMPLATES[cat].format(w=word, W=word.capitalize()) + f" (#{k})"
            last = NOW - timedelta(hours=rng.randint(1, 24 * HISTORY_DAYS))
            first = last - timedelta(hours=rng.randint(0, 24 * 30))
            ids = ",".join(fake_uuid(n, j) for j in range(rng.randint(1, 3)))
            rows.append(
                f"{user}\t{bot}\t{text}\t{cat.value}\t{rng.uniform(0.5, 1.0):.3f}\t{rng.randint(1, 5)}\t"
                f"{first.isoformat()}\t{last.isoformat()}\t{{{ids}}}\tbench-model\tv-bench\n"
            )
            n += 1
            if len(rows) == chunk:
                yield rows
                rows = []
    if rows:
        yield rows


def summary_days(rng: random.Random) -> list[date]:
    return sorted(NOW.date() - timedelta(days=d) for d in rng.sample(range(0, HISTORY_DAYS), SUMMARIES_PER_USER))


LAST_MESSAGE_AFTER = timedelta(hours=20)  # a summary's last message: 20:00 of its day (recall's `now` bound)


def summary_chunks(pairs, days_of, texts, chunk: int = 50_000):
    rows: list[str] = []
    sid = 0
    for j in range(SUMMARIES_PER_USER):
        for bot, user in pairs:
            sid += 1
            day = days_of[user][j]
            start = datetime.combine(day, dtime(0), tzinfo=UTC)
            ids = ",".join(fake_uuid(10**9 + sid, k) for k in range(3 + sid % 6))
            rows.append(
                f"{sid}\t{user}\t{bot}\t{day.isoformat()}\t{start.isoformat()}\t"
                f"{(start + timedelta(days=1)).isoformat()}\t{texts[sid % POOL]}\t{{chat}}\t{2 * (3 + sid % 6)}\t"
                f"{{{ids}}}\tbench-model\tv-bench\t{(start + LAST_MESSAGE_AFTER).isoformat()}\n"
            )
            if len(rows) == chunk:
                yield rows
                rows = []
    if rows:
        yield rows


def pool_texts(rng: random.Random) -> list[str]:
    out = []
    for i in range(POOL):
        a, b = rng.sample(TOPICS, 2)
        out.append(f"The user talked about {a} and {b}, {rng.choice(DETAILS)}. (variant {i})")
    return out


def message_pool() -> tuple[list[str], np.ndarray, dict[str, int]]:
    """Generated chat lines: (texts, topic of each text or -1 for small talk, layout of the list).

    The list is [user lines of topic 0..29 (U each)] + [user small talk] + [bot lines of topic
    0..29 (B each)] + [bot small talk], so a line is picked with arithmetic on its topic."""
    user_topic, bot_topic = [], []
    for what, said in CHAT_TOPICS:
        user_topic.append([t.format(s=x, what=what) for t in USER_LINE_TEMPLATES for x in said]
                          + [t.format(what=what) for t in USER_WHAT_TEMPLATES])
        yours = re.sub(r"\bmy\b", "your", what).replace("I'm", "you're")
        bot_topic.append([t.format(what=yours) for t in BOT_LINE_TEMPLATES])
    u, b = len(user_topic[0]), len(bot_topic[0])
    assert all(len(x) == u for x in user_topic) and all(len(x) == b for x in bot_topic)
    layout = {"user_per_topic": u, "user_small": len(user_topic) * u, "n_user_small": len(USER_SMALL_TALK)}
    layout["bot_topic"] = layout["user_small"] + len(USER_SMALL_TALK)
    layout["bot_per_topic"] = b
    layout["bot_small"] = layout["bot_topic"] + len(bot_topic) * b
    layout["n_bot_small"] = len(BOT_SMALL_TALK)
    texts = ([x for xs in user_topic for x in xs] + USER_SMALL_TALK
             + [x for xs in bot_topic for x in xs] + BOT_SMALL_TALK)
    topic = np.full(len(texts), -1, dtype=np.int16)
    for t in range(len(CHAT_TOPICS)):
        topic[t * u:(t + 1) * u] = t
        topic[layout["bot_topic"] + t * b: layout["bot_topic"] + (t + 1) * b] = t
    assert len(set(texts)) == len(texts) and not any(c in x for x in texts for c in "\t\n\\")
    return texts, topic, layout


def message_plan(pairs, days_of, per_user: int, layout: dict[str, int], texts: list[str], seed: int) -> dict:
    """Every message of every user: who, when, which pool line; in the order enrichment stages
    them into pending_messages (by day, then bot, then time), so a user's messages are spread
    over the table as they are in production."""
    rng = np.random.default_rng(seed)
    n_users, n_topics = len(pairs), len(CHAT_TOPICS)
    n = n_users * per_user
    user = np.repeat(np.arange(n_users, dtype=np.int32), per_user)
    days = np.asarray([[d.toordinal() for d in days_of[u]] for _, u in pairs], dtype=np.int32)
    day = days[user, rng.integers(days.shape[1], size=n)]
    topics = np.argsort(rng.random((n_users, n_topics)), axis=1)[:, :TOPICS_PER_USER]
    topic = topics[user, rng.integers(TOPICS_PER_USER, size=n)]
    said_by_user = rng.random(n) < USER_SHARE
    on_topic = rng.random(n) < np.where(said_by_user, ON_TOPIC_SHARE, BOT_ON_TOPIC_SHARE)
    text = np.where(
        said_by_user,
        np.where(on_topic, topic * layout["user_per_topic"] + rng.integers(layout["user_per_topic"], size=n),
                 layout["user_small"] + rng.integers(layout["n_user_small"], size=n)),
        np.where(on_topic, layout["bot_topic"] + topic * layout["bot_per_topic"]
                 + rng.integers(layout["bot_per_topic"], size=n),
                 layout["bot_small"] + rng.integers(layout["n_bot_small"], size=n)),
    ).astype(np.int32)
    # waking hours, 07:00-23:30 UTC; on today's date only until `now`
    hour_ms = 3_600_000
    now_ms_of_day = epoch_ms(NOW) - epoch_ms(datetime.combine(NOW.date(), dtime(0), tzinfo=UTC))
    hi = np.where(day == NOW.date().toordinal(), min(now_ms_of_day, 47 * hour_ms // 2), 47 * hour_ms // 2)
    ms_of_day = rng.integers(7 * hour_ms, np.maximum(hi, 7 * hour_ms + 1))
    ts = (day.astype(np.int64) - date(1970, 1, 1).toordinal()) * 86_400_000 + ms_of_day
    bot_index = {b: i for i, b in enumerate(sorted({b for b, _ in pairs}))}
    bot = np.asarray([bot_index[b] for b, _ in pairs], dtype=np.int32)[user]
    order = np.lexsort((ts, bot, day))
    plan = {"user": user[order], "day": day[order], "ts": ts[order], "by_user": said_by_user[order],
            "text": text[order], "topics": topics}
    assert (plan["ts"] <= epoch_ms(NOW)).all()
    plan["ids"] = [
        message_id_for(pairs[u][0], pairs[u][1], "user" if r else "bot", t, texts[x])
        for u, r, t, x in zip(plan["user"].tolist(), plan["by_user"].tolist(), plan["ts"].tolist(),
                              plan["text"].tolist())
    ]
    return plan


def message_chunks(plan, pairs, texts, vectors, chunk: int = 20_000):
    """pending_messages rows for COPY: the vector as bytea (float32, hex), `day` = UTC date of `ts`."""
    hexes = ["\\\\x" + v.astype(np.float32).tobytes().hex() for v in vectors]
    day_iso = {d: date.fromordinal(d).isoformat() for d in set(plan["day"].tolist())}
    rows: list[str] = []
    for mid, u, d, r, t, x in zip(plan["ids"], plan["user"].tolist(), plan["day"].tolist(),
                                  plan["by_user"].tolist(), plan["ts"].tolist(), plan["text"].tolist()):
        ts = from_epoch_ms(t)
        assert ts.date().toordinal() == d
        bot, user = pairs[u]
        rows.append(f"{mid}\t{bot}\t{day_iso[d]}\t{user}\t{'user' if r else 'bot'}\t{texts[x]}\t"
                    f"{ts.isoformat()}\t{hexes[x]}\n")
        if len(rows) == chunk:
            yield rows
            rows = []
    if rows:
        yield rows


def load_postgres(engine, pairs, rng, texts, vectors, mtexts, mvectors, mlayout, per_user: int) -> dict:
    timings = {}
    t = time.perf_counter()
    n_facts = copy(engine, "user_facts", "user_id, bot_name, fact_content, category, confidence, mention_count,"
                   " first_seen, last_seen, source_message_ids, model, prompt_version", fact_chunks(pairs, rng))
    timings["facts_copy_s"] = round(time.perf_counter() - t, 1)
    log(f"facts: {n_facts:,} rows in {timings['facts_copy_s']} s")

    days_of = {user: summary_days(rng) for _, user in pairs}
    t = time.perf_counter()
    n_sum = copy(engine, "conversation_summaries", "id, user_id, bot_name, day, start_timestamp, end_timestamp,"
                 " summary_text, topics, message_count, source_message_ids, model, prompt_version, last_message_at",
                 summary_chunks(pairs, days_of, texts))
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setval('conversation_summaries_id_seq', :n)"), {"n": n_sum})
    timings["summaries_copy_s"] = round(time.perf_counter() - t, 1)
    log(f"summaries: {n_sum:,} rows in {timings['summaries_copy_s']} s")

    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE bench_pool (id int PRIMARY KEY, embedding real[])"))
        raw = conn.connection.dbapi_connection
        buf = io.StringIO("".join(
            f"{i}\t{{{','.join(f'{x:.7g}' for x in vectors[i])}}}\n" for i in range(POOL)
        ))
        raw.cursor().copy_expert("COPY bench_pool (id, embedding) FROM STDIN", buf)
        conn.execute(sa.text(
            "INSERT INTO summary_embeddings (user_id, bot_name, day, start_timestamp, end_timestamp, embedding, model)"
            " SELECT s.user_id, s.bot_name, s.day, s.start_timestamp, s.end_timestamp, p.embedding, :model"
            " FROM conversation_summaries s JOIN bench_pool p ON p.id = s.id % :pool ORDER BY s.id"
        ), {"model": EMBEDDING_MODEL, "pool": POOL})
    timings["embeddings_insert_s"] = round(time.perf_counter() - t, 1)
    log(f"summary_embeddings in {timings['embeddings_insert_s']} s")

    t = time.perf_counter()
    plan = message_plan(pairs, days_of, per_user, mlayout, mtexts, rng.randrange(2**32))
    timings["messages_plan_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    n_msg = copy(engine, "pending_messages", "message_id, bot_name, day, user_id, role, content, ts, vector",
                 message_chunks(plan, pairs, mtexts, mvectors), size=1 << 20)
    timings["messages_copy_s"] = round(time.perf_counter() - t, 1)
    log(f"messages: {n_msg:,} rows in {timings['messages_copy_s']} s (plan {timings['messages_plan_s']} s)")

    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(
            "VACUUM ANALYZE user_facts, conversation_summaries, summary_embeddings, pending_messages"))
    timings["vacuum_analyze_s"] = round(time.perf_counter() - t, 1)
    log(f"vacuum analyze in {timings['vacuum_analyze_s']} s")
    return {"facts": n_facts, "summaries": n_sum, "messages": n_msg, "timings": timings, "days_of": days_of,
            "plan": plan}


def load_qdrant(settings, pairs, days_of, texts, vectors, plan, mtexts, mvectors) -> dict:
    t = time.perf_counter()
    n = 0
    with open_store(settings) as store:
        ids, vecs, payloads = [], [], []
        sid = 0
        for j in range(SUMMARIES_PER_USER):
            for bot, user in pairs:
                sid += 1
                day = days_of[user][j]
                start = datetime.combine(day, dtime(0), tzinfo=UTC)
                end = start + timedelta(days=1)
                ids.append(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{bot}/{user}/{day}")))
                vecs.append(sid % POOL)
                payloads.append({
                    "bot_name": bot, "user_id": user, "day": day.isoformat(), "start_ts": epoch_ms(start),
                    "end_ts": epoch_ms(end), "last_ts": epoch_ms(start + LAST_MESSAGE_AFTER),
                    "window_start": start.isoformat(), "window_end": end.isoformat(),
                    "summary_text": texts[sid % POOL], "topics": ["chat"],
                })
                if len(ids) == 2000:
                    store.engine.upsert(store.summaries, ids, vectors[vecs], payloads)
                    n += len(ids)
                    ids, vecs, payloads = [], [], []
        if ids:
            store.engine.upsert(store.summaries, ids, vectors[vecs], payloads)
            n += len(ids)
        count = store.engine.count(store.summaries, {})
        summaries_s = round(time.perf_counter() - t, 1)
        log(f"qdrant summaries: {count:,} points in {summaries_s} s")

        # messages as the hot path writes them, in the order they arrive (time)
        t = time.perf_counter()
        roles = (Role.BOT, Role.USER)
        order = np.argsort(plan["ts"], kind="stable")
        n_msg = 0
        for k in range(0, len(order), 2000):
            idx = order[k:k + 2000]
            batch = [
                Message(plan["ids"][i], pairs[u][0], pairs[u][1], roles[r], mtexts[x], from_epoch_ms(ts))
                for i, u, r, x, ts in zip(idx.tolist(), plan["user"][idx].tolist(), plan["by_user"][idx].tolist(),
                                          plan["text"][idx].tolist(), plan["ts"][idx].tolist())
            ]
            store.upsert_messages(batch, mvectors[plan["text"][idx]])
            n_msg += len(batch)
            if (k // 2000) % 100 == 99:
                log(f"  qdrant messages: {n_msg:,}")
        message_count = store.engine.count(store.messages, {})
        messages_s = round(time.perf_counter() - t, 1)
        log(f"qdrant messages: {message_count:,} points in {messages_s} s")
        t = time.perf_counter()
    close_s = round(time.perf_counter() - t, 1)  # flush and close
    return {"points": count, "upserted": n, "load_s": summaries_s, "message_points": message_count,
            "messages_upserted": n_msg, "messages_load_s": messages_s, "close_s": close_s}


# -- measuring -----------------------------------------------------------------------------------------

def explain(engine, bot: str, user: str) -> dict[str, list[str]]:
    from whisper_assets.stores.repository import consolidation
    from whisper_assets.stores.repository import memories as m

    day = NOW.date() - timedelta(days=7)
    statements = {
        "facts": (consolidation.FACT_RECORDS_SQL, {"bot": bot, "user": user, "cat": None, "cap": MAX_FACTS_SCANNED,
                                                   "now": NOW, "current_only": True}),
        "time_range": (m.SUMMARIES_IN_RANGE_SQL, {"bot": bot, "user": user, "limit": 7, "now": NOW,
                                                  "start": datetime.combine(day, dtime(0), tzinfo=UTC),
                                                  "end": datetime.combine(day + timedelta(days=7), dtime(0),
                                                                          tzinfo=UTC)}),
        "postgres_vectors": (m.SUMMARY_VECTORS_SQL, {"bot": bot, "user": user, "now": NOW}),
        "summaries_by_start": (m.SUMMARIES_BY_START_SQL, {"bot": bot, "user": user, "now": NOW,
                                                          "starts": [datetime.combine(day, dtime(0), tzinfo=UTC)]}),
        "messages": (m.MESSAGE_VECTORS_SQL, {"bot": bot, "user": user, "now": NOW, "cap": MAX_MESSAGES_SCANNED,
                                             "start": None, "end": None}),
        "messages_time_range": (m.MESSAGE_VECTORS_SQL, {"bot": bot, "user": user, "now": NOW,
                                                        "cap": MAX_MESSAGES_SCANNED,
                                                  "start": datetime.combine(day, dtime(0), tzinfo=UTC),
                                                  "end": datetime.combine(day + timedelta(days=7), dtime(0),
                                                                          tzinfo=UTC)}),
    }
    out = {}
    with engine.connect() as conn:
        for name, (stmt, params) in statements.items():
            text = stmt.text
            rows = conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + text), params).all()
            out[name] = [row[0] for row in rows]
    return out


def measure(engine, store, embedder, pairs, n_queries: int, rng: random.Random, topic_of: dict[str, int],
            user_topics: dict[str, set[int]]) -> dict:
    """Latency per variant; for the b variants also the message search alone: its time
    (timings_ms["messages"]), how many messages it returns, how many of them are on the question's
    topic (TOPIC_QUESTIONS[i] asks about CHAT_TOPICS[i]), split, for questions that name no time,
    by whether the user ever talked about that topic, and whether Qdrant and Postgres return
    the same scores for the same (user, question)."""
    qvec = {q: embedder.encode_one(q) for q in TOPIC_QUESTIONS}
    at_now, facts_and_time = RecallOptions(now=NOW), RecallOptions(now=NOW, semantic=False)
    variants = {
        "a_facts_time_range": lambda b, u, q, tq: recall(b, u, tq, facts_and_time, engine=engine),
        "b_qdrant": lambda b, u, q, tq: recall(b, u, q, at_now, engine=engine, store=store, embedder=embedder),
        "b_qdrant_without_embedding": lambda b, u, q, tq: recall(
            b, u, q, at_now, engine=engine, store=store, embedder=embedder, query_vector=qvec[q]),
        "b_postgres": lambda b, u, q, tq: recall(b, u, q, at_now, engine=engine, embedder=embedder),
        "b_postgres_without_embedding": lambda b, u, q, tq: recall(
            b, u, q, at_now, engine=engine, embedder=embedder, query_vector=qvec[q]),
    }
    names = list(variants)
    times: dict[str, list[float]] = {k: [] for k in names}
    stages: dict[str, list[float]] = {}
    stats = {"facts_returned": [], "summaries_in_range": [], "related_qdrant": [], "related_postgres": [],
             "messages_qdrant": [], "messages_postgres": [], "semantic_modes": {}}
    b_names = [n for n in names if n.startswith("b_")]
    msg = {n: {"returned": [], "returned_with_time_range": [], "returned_without_time_range": [],
               "on_topic": 0, "top_score": [], "has_topic": [], "lacks_topic": []} for n in b_names}
    agree = {"with_embedding": [0, 0], "without_embedding": [0, 0]}  # [same scores, rounds]
    warmup = max(50, n_queries // 10)
    for i in range(warmup + n_queries):
        if i == warmup:
            gc.freeze()  # as `whisper-assets serve` does after its warm-up (see api.py)
        bot, user = pairs[rng.randrange(len(pairs))]
        q, tq = rng.choice(TOPIC_QUESTIONS), rng.choice(TIME_QUESTIONS)
        order = names[i % len(names):] + names[: i % len(names)]  # rotate: no variant always first
        scores: dict[str, list[float]] = {}
        for name in order:
            t = time.perf_counter()
            result = variants[name](bot, user, q, tq)
            context = result.as_context()
            elapsed = (time.perf_counter() - t) * 1000
            if i < warmup:
                continue
            times[name].append(elapsed)
            assert context and result.bot == bot and result.user == user
            for k, v in result.timings_ms.items():
                stages.setdefault(f"{name}.{k}", []).append(v)
            if name == "a_facts_time_range":
                stats["facts_returned"].append(len(result.facts))
                stats["summaries_in_range"].append(len(result.summaries))
            elif name == "b_qdrant":
                stats["related_qdrant"].append(len(result.related))
                stats["messages_qdrant"].append(len(result.messages))
            elif name == "b_postgres":
                stats["related_postgres"].append(len(result.related))
                stats["messages_postgres"].append(len(result.messages))
            if name in msg:
                m = msg[name]
                m["returned"].append(len(result.messages))
                m["returned_with_time_range" if result.time_range else "returned_without_time_range"].append(
                    len(result.messages))
                topic = TOPIC_QUESTIONS.index(q)
                hits = [topic_of.get(x.text) == topic for x in result.messages]
                m["on_topic"] += sum(hits)
                if result.messages:
                    m["top_score"].append(result.messages[0].score)
                if result.time_range is None:  # (returned, on topic, top is on topic, top score)
                    m["has_topic" if topic in user_topics[user] else "lacks_topic"].append(
                        (len(hits), sum(hits), bool(hits and hits[0]),
                         result.messages[0].score if result.messages else None))
                scores[name] = [x.score for x in result.messages]
            stats["semantic_modes"][f"{name}:{result.semantic}"] = stats["semantic_modes"].get(
                f"{name}:{result.semantic}", 0) + 1
        if i >= warmup:
            for key, suffix in (("with_embedding", ""), ("without_embedding", "_without_embedding")):
                a, b = scores[f"b_qdrant{suffix}"], scores[f"b_postgres{suffix}"]
                agree[key][0] += len(a) == len(b) and all(abs(x - y) < 1e-3 for x, y in zip(a, b))
                agree[key][1] += 1
        if i and i % 250 == 0:
            log(f"  {i} / {warmup + n_queries} rounds")
    out = {name: pct(v) for name, v in times.items()}
    out["stages_p50_p99_ms"] = {k: [pct(v)["p50_ms"], pct(v)["p99_ms"]] for k, v in sorted(stages.items())}
    out["result_sizes_mean"] = {k: round(statistics.fmean(v), 2) for k, v in stats.items() if isinstance(v, list)}
    out["semantic_modes"] = stats["semantic_modes"]
    search = {}
    for name, m in msg.items():
        returned = m["returned"]
        search[name] = {
            "messages_ms": pct(stages.get(f"{name}.messages", [0.0])),
            "messages_ms_share_of_total_p50": round(
                pct(stages.get(f"{name}.messages", [0.0]))["p50_ms"] / out[name]["p50_ms"], 3),
            "returned_mean": round(statistics.fmean(returned), 2),
            "returned_histogram": {str(k): returned.count(k) for k in range(max(returned) + 1)},
            "returned_mean_with_time_range": round(statistics.fmean(m["returned_with_time_range"] or [0]), 2),
            "returned_mean_without_time_range": round(statistics.fmean(m["returned_without_time_range"] or [0]), 2),
            "on_topic_share": round(m["on_topic"] / max(sum(returned), 1), 3),
            "top_score_mean": round(statistics.fmean(m["top_score"] or [0.0]), 3),
        }
        for key, rounds in (("has_topic", m["has_topic"]), ("lacks_topic", m["lacks_topic"])):
            tops = [r[3] for r in rounds if r[3] is not None]
            search[name][f"no_time_range_user_{key}"] = {
                "rounds": len(rounds),
                "returned_mean": round(statistics.fmean([r[0] for r in rounds] or [0]), 2),
                "on_topic_share": round(sum(r[1] for r in rounds) / max(sum(r[0] for r in rounds), 1), 3),
                "top_on_topic_share": round(sum(r[2] for r in rounds) / max(len(rounds), 1), 3),
                "top_score_mean": round(statistics.fmean(tops), 3) if tops else None,
            }
    search["qdrant_postgres_same_scores_share"] = {k: round(v[0] / max(v[1], 1), 3) for k, v in agree.items()}
    out["message_search"] = search
    return out


def embedding_costs(embedder, rng: random.Random, reps: int = 300) -> dict:
    """The query embedding as recall does it (1 torch thread), on the process's threads, and the
    cost of embedding a user's 100 fact texts per query (not done: facts are ranked by category
    routing, word overlap and confidence)."""
    import torch

    query_ms, query_all_threads_ms, facts_ms = [], [], []
    for i in range(reps):
        q = rng.choice(TOPIC_QUESTIONS)
        t = time.perf_counter()
        embed_query(embedder, q)
        query_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        embedder.encode_one(q)
        query_all_threads_ms.append((time.perf_counter() - t) * 1000)
    facts = [FACT_TEMPLATES[c].format(w=w, W=w.capitalize()) for c in Category for w in WORDS[:8]][:100]
    for i in range(10):
        t = time.perf_counter()
        embedder.encode(facts)
        facts_ms.append((time.perf_counter() - t) * 1000)
    return {
        "query_embedding_1_thread (as recall does)": pct(query_ms),
        f"query_embedding_{torch.get_num_threads()}_threads": pct(query_all_threads_ms),
        "embed_100_fact_texts": pct(facts_ms),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--messages-per-user", type=int, default=MESSAGES_PER_USER,
                    help="past messages per user, in pending_messages and the Qdrant messages collection")
    ap.add_argument("--admin-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database (prints its name)")
    args = ap.parse_args()
    rng = random.Random(42)
    started = time.perf_counter()
    loadavg_start = os.getloadavg()

    db = f"whisper_bench_retrieval_{os.getpid()}"
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
    qdir = Path(tempfile.mkdtemp(prefix="whisper-bench-retrieval-", dir=base))
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    url = args.admin_url.rsplit("/", 1)[0] + "/" + db
    settings = load_settings(data_dir=qdir / "data", database_url=url, qdrant_path=qdir / "qdrant")
    engine = get_engine(settings)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version FROM schema_migrations ORDER BY 1")).scalars().all()
        log(f"scratch database {db}: migrations {versions}")
        embedder = get_embedder(settings.torch_threads)
        pairs = users(args.users)
        t = time.perf_counter()
        texts = pool_texts(rng)
        vectors = embedder.encode(texts)
        pool_s = round(time.perf_counter() - t, 1)
        log(f"embedded {POOL} summary texts in {pool_s} s")
        t = time.perf_counter()
        mtexts, mtopic, mlayout = message_pool()
        mvectors = embedder.encode(mtexts)
        mpool_s = round(time.perf_counter() - t, 1)
        log(f"embedded {len(mtexts)} message texts in {mpool_s} s")
        loaded = load_postgres(engine, pairs, rng, texts, vectors, mtexts, mvectors, mlayout, args.messages_per_user)
        plan = loaded.pop("plan")
        user_topics = {pairs[u][1]: set(row) for u, row in enumerate(plan["topics"].tolist())}
        roles = {"user": int(plan["by_user"].sum()), "bot": int(len(plan["by_user"]) - plan["by_user"].sum())}
        qdrant = load_qdrant(settings, pairs, loaded.pop("days_of"), texts, vectors, plan, mtexts, mvectors)
        del plan
        log(f"qdrant: {qdrant}")
        qdrant_mb = {
            p.name: round(sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20, 1)
            for p in sorted(settings.resolved_qdrant_path.iterdir()) if p.is_dir()
        }
        with engine.connect() as conn:
            size_mb = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar() / 2**20
            indexes = [
                {"table": r[0], "index": r[1], "definition": r[2], "size_mb": round(r[3] / 2**20, 1)}
                for r in conn.execute(sa.text(
                    "SELECT tablename, indexname, indexdef, pg_relation_size(indexname::regclass) FROM pg_indexes"
                    " WHERE tablename IN ('user_facts', 'conversation_summaries', 'summary_embeddings',"
                    " 'pending_messages') ORDER BY tablename, indexname"))
            ]
            tables = {
                r[0]: round(r[1] / 2**20, 1) for r in conn.execute(sa.text(
                    "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN"
                    " ('user_facts', 'conversation_summaries', 'summary_embeddings', 'pending_messages')"))
            }
            heap_mb = round(conn.execute(sa.text(
                "SELECT pg_relation_size('pending_messages')")).scalar() / 2**20, 1)
        log("measuring")
        t = time.perf_counter()
        with open_store(settings) as store:
            store_open_s = round(time.perf_counter() - t, 1)
            log(f"store opened in {store_open_s} s")
            topic_of = {x: int(k) for x, k in zip(mtexts, mtopic)}
            results = measure(engine, store, embedder, pairs, args.queries, rng, topic_of, user_topics)
            bot, user = pairs[rng.randrange(len(pairs))]
            plans = explain(engine, bot, user)
        uses_index = {k: any("pending_messages_user" in line for line in plans[k])
                      for k in ("messages", "messages_time_range")}
        costs = embedding_costs(embedder, rng)
        a, bq, bp = results["a_facts_time_range"], results["b_qdrant"], results["b_postgres"]
        report = {
            "benchmark": "retrieval",
            "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                        "loadavg_start": [round(x, 2) for x in loadavg_start],
                        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                        "postgres": "127.0.0.1:5432 (shared_buffers as configured)", "qdrant": f"qdrant-edge in {base}"},
            "data": {
                "bots": BOTS, "users": len(pairs), "facts": loaded["facts"], "summaries": loaded["summaries"],
                "summary_embeddings": loaded["summaries"], "messages": loaded["messages"],
                "messages_by_role": roles, "qdrant_points": qdrant["points"],
                "qdrant_message_points": qdrant["message_points"],
                "facts_per_user": FACTS_PER_USER, "summaries_per_user": SUMMARIES_PER_USER,
                "messages_per_user": args.messages_per_user,
                "message_pool": {"texts": len(mtexts), "topics": len(CHAT_TOPICS), "topics_per_user": TOPICS_PER_USER,
                                 "user_lines_per_topic": mlayout["user_per_topic"],
                                 "bot_lines_per_topic": mlayout["bot_per_topic"],
                                 "small_talk": mlayout["n_user_small"] + mlayout["n_bot_small"]},
                "database_mb": round(size_mb, 1), "tables_mb": tables, "pending_messages_heap_mb": heap_mb,
                "qdrant_mb": qdrant_mb,
                "load_s": {**loaded["timings"], "embed_pool_s": pool_s, "embed_message_pool_s": mpool_s,
                           "qdrant_upsert_s": qdrant["load_s"], "qdrant_messages_upsert_s": qdrant["messages_load_s"],
                           "qdrant_close_s": qdrant["close_s"], "qdrant_open_for_measuring_s": store_open_s},
            },
            "queries_per_variant": args.queries,
            "what_is_timed": "recall(...) + result.as_context(), in process, one connection checkout per recall; "
                             "b embeds the question (minus its time phrase) on a worker thread (1 torch thread) "
                             "while the facts and time-range queries run; b then searches the summaries and the "
                             "messages (timings_ms semantic, messages) with that vector",
            "indexes_added": "none by the benchmark: the statements use the shipped migrations' indexes, those of "
                             "sql/001_core.sql and, for the Postgres message search, pending_messages_user "
                             "(sql/002_message_recall.sql); see explain",
            "messages_sql_uses_pending_messages_user": uses_index,
            "latency": results,
            "embedding": costs,
            "targets": {
                "a_p99_ms<=20": a["p99_ms"] <= TARGET_A_P99_MS,
                "b_qdrant_p99_ms<=30": bq["p99_ms"] <= TARGET_B_P99_MS,
                "b_postgres_p99_ms<=30": bp["p99_ms"] <= TARGET_B_P99_MS,
            },
            "indexes": indexes,
            "explain": plans,
            "total_s": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(report, indent=2))
    finally:
        engine.dispose()
        shutil.rmtree(qdir, ignore_errors=True)
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            log(f"dropped {db}")
        else:
            log(f"kept {db}")
        admin.dispose()


if __name__ == "__main__":
    main()
