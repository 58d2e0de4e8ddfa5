"""Generated chat for the benchmarks: user lines that state facts (or make small talk) and bot replies."""

import random

JOBS = ["nurse", "teacher", "software engineer", "chef", "accountant", "electrician", "designer", "pharmacist"]
EMPLOYERS = ["St. Mary's", "Shopify", "the city council", "Northwind", "a small bakery", "Halden & Rowe"]
PETS = [("dog", "Biscuit"), ("cat", "Miso"), ("parrot", "Captain"), ("rabbit", "Pistache"), ("dog", "Rex")]
PLACES = ["Lisbon", "Kyoto", "Portland", "Lagos", "Montreal", "Manchester", "Accra", "Denver"]
HOBBIES = ["bouldering", "the cello", "pottery", "film photography", "chess", "baking sourdough"]
SMALL = ["haha that's funny", "ok thanks!", "how's your day going?", "long day at work today",
         "I'm so tired lol", "what should I cook tonight?", "did you see the game last night?",
         "the weather is awful here", "can you recommend a podcast?", "brb"]
BOT = ["That sounds great!", "Tell me more about that.", "Oh nice, how did that go?",
       "I hope you get some rest.", "Interesting! What made you choose that?"]


def user_line(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.10:
        return f"I work as a {rng.choice(JOBS)} at {rng.choice(EMPLOYERS)}"
    if kind < 0.18:
        species, name = rng.choice(PETS)
        return f"my {species} {name} did the funniest thing this morning"
    if kind < 0.26:
        return f"I live in {rng.choice(PLACES)} but I grew up in {rng.choice(PLACES)}"
    if kind < 0.34:
        return f"I've been learning {rng.choice(HOBBIES)} for a few months now"
    if kind < 0.40:
        return f"next month I'm flying to {rng.choice(PLACES)} for a wedding"
    return rng.choice(SMALL)
