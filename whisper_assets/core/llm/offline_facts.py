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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from whisper_assets.core.enrichment.models import Fact
from whisper_assets.core.llm.schemas import MAX_FACT_CHARS, Category

__all__ = ["Turn", "extract_facts"]


@dataclass(frozen=True)
class Turn:
    """One user turn: the message id, who said it and what they said."""

    message_id: str
    user_id: str
    content: str


# --------------------------------------------------------------------------------------------
# Confidence levels

EXPLICIT = 0.9
INDIRECT = 0.8
WEAK = 0.7
HEDGED_WEAK = 0.6
HEDGED_STRONG = 0.5

# --------------------------------------------------------------------------------------------
# Lexicons

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a couple of|a few|several"
)

_JOB_HEADS = frozenset(
    """
    nurse doctor physician surgeon dentist hygienist orthodontist optometrist vet veterinarian
    tech technician engineer developer programmer coder designer architect analyst scientist
    researcher professor lecturer teacher tutor instructor coach trainer counselor counsellor
    therapist psychologist psychiatrist worker lawyer attorney solicitor barrister paralegal judge
    accountant bookkeeper auditor banker consultant manager director executive ceo cto cfo coo
    founder co-founder cofounder entrepreneur chef barista bartender waiter waitress cashier clerk
    receptionist secretary administrator librarian journalist reporter editor copywriter
    translator interpreter pilot mechanic electrician plumber carpenter welder contractor farmer
    firefighter paramedic emt officer detective soldier pharmacist midwife caregiver carer nanny
    janitor housekeeper realtor broker salesman saleswoman salesperson recruiter marketer
    surveyor statistician economist mathematician physicist chemist biologist geologist
    pharmacologist radiographer radiologist sonographer physiotherapist physio dietitian
    nutritionist paramedic dispatcher machinist technologist specialist coordinator supervisor
    foreman operator programmer strategist producer animator illustrator curator archivist
    principal headteacher lifeguard firefighter postman mailman courier trucker cop policeman
    policewoman hairdresser hairstylist stylist barber butcher dietician nutritionist vet
    practitioner assistant associate representative rep beekeeper
    """.split()
)
# Two-word job titles whose head alone is ambiguous or missing from the lexicon.
_JOB_COMPOUNDS = frozenset(
    " ".join(pair)
    for line in """
    line cook, prep cook, head cook, short-order cook, pastry chef, sous chef, executive chef,
    head chef, estate agent, travel agent, insurance agent, flight attendant, dental hygienist,
    truck driver, bus driver, taxi driver, uber driver, delivery driver, session musician,
    professional musician, professional photographer, wedding photographer, professional dancer,
    freelance writer, staff writer, technical writer, professional artist, tattoo artist,
    makeup artist, freelance photographer, graphic designer, interior designer, fashion designer
    """.split(",")
    for pair in [line.split()]
)
# "I'm a writer/painter/dancer ..." is as often a hobby as a job: only accepted after "work as".
_AMBIGUOUS_JOB_HEADS = frozenset(
    "artist painter writer author dancer singer musician photographer cook baker driver "
    "actor actress model sculptor poet composer designer".split()
)
_STATUS_HEADS = {  # "I'm a student" -> education, not "works as a student"
    "student": Category.EDUCATION,
    "undergrad": Category.EDUCATION,
    "undergraduate": Category.EDUCATION,
    "postgrad": Category.EDUCATION,
    "grad": Category.EDUCATION,
    "major": Category.EDUCATION,
    "freshman": Category.EDUCATION,
    "sophomore": Category.EDUCATION,
    "intern": Category.OCCUPATION,
    "apprentice": Category.OCCUPATION,
    "freelancer": Category.OCCUPATION,
    "retiree": Category.OCCUPATION,
    "homemaker": Category.OCCUPATION,
}
_HOBBY_PERSON_HEADS = frozenset(
    "reader runner hiker gamer cyclist swimmer climber golfer knitter gardener surfer skier "
    "snowboarder birder birdwatcher skater fisherman angler baker cook photographer "
    "bookworm foodie".split()
)
_BAD_JOB_ADJ = frozenset(
    "good bad great terrible decent big huge awful horrible amazing better worse best worst "
    "total complete real true natural born lousy proud happy little bit terrible fantastic "
    "wonderful excellent poor lucky tired exhausted former ex wannabe aspiring future retired "
    "pretend fake part".split()
)
_ORG_NOUNS = frozenset(
    """
    school hospital clinic bank startup start-up company firm restaurant cafe café bakery store
    shop library university college factory warehouse hotel agency nonprofit non-profit charity
    lab laboratory office studio gym church museum theater theatre bar pharmacy supermarket
    practice salon garage centre center department ministry council nursery daycare kindergarten
    academy institute hospice airline airport newspaper magazine publisher consultancy
    """.split()
)
_BUSINESS_NOUNS = frozenset(
    """
    business company shop store studio restaurant bakery cafe café bar salon firm practice
    startup start-up clinic gym farm agency consultancy boutique nonprofit charity brand label
    brewery winery daycare food truck
    """.split()
)

_SPECIES = (
    r"dogs?|pupp(?:y|ies)|pups?|cats?|kittens?|kitty|kitties|parrots?|birds?|budgies?|"
    r"cockatiels?|canar(?:y|ies)|rabbits?|bunn(?:y|ies)|hamsters?|guinea pigs?|goldfish|fish|"
    r"turtles?|tortoises?|snakes?|lizards?|geckos?|iguanas?|horses?|pon(?:y|ies)|ferrets?|rats?|"
    r"mice|chinchillas?|hedgehogs?|chickens?|hens?|goats?|pigs?|golden retrievers?|retrievers?|"
    r"labradors?|labs?|poodles?|beagles?|huskies|husky|corgis?|pugs?|terriers?|shepherds?|"
    r"bulldogs?|dachshunds?|chihuahuas?|collies?|spaniels?|greyhounds?|tabby|tabbies"
)
_PET_NOT_FOLLOWED = frozenset(
    "walker walkers sitter sitters food park bed beds toy toys hair fur tree door hospital vet "
    "groomer years lover lovers person people friendly show shows treats treat owner owners "
    "allergy allergies painting paintings drawing drawings picture pictures photo photos pic pics "
    "portrait portraits sculpture sculptures figurine figurines costume costumes mug mugs shirt "
    "t-shirt tattoo tattoos statue print prints poster posters video videos book books ride rides "
    "riding lessons lesson cafe café shelter rescue meme memes sweater onesie pattern calendar "
    "ornament plushie impression impressions-".split()
)
_HOUSEHOLD_PETS = re.compile(
    r"^(?:dogs?|pupp(?:y|ies)|cats?|kittens?|kitty|kitties|parrots?|budgies?|cockatiels?|rabbits?|"
    r"bunn(?:y|ies)|hamsters?|guinea pigs?|goldfish|turtles?|tortoises?|geckos?|ferrets?|"
    r"chinchillas?|hedgehogs?|golden retrievers?|labradors?|poodles?|beagles?|huskies|husky|"
    r"corgis?|pugs?|terriers?|bulldogs?|dachshunds?|chihuahuas?|spaniels?|greyhounds?)$"
)

_REL_SINGULAR = {
    "wife": "she", "husband": "he", "partner": None, "boyfriend": "he", "girlfriend": "she",
    "fiance": "he", "fiancé": "he", "fiancee": "she", "fiancée": "she", "son": "he",
    "daughter": "she", "kid": None, "child": None, "baby": None, "brother": "he", "sister": "she",
    "sibling": None, "mom": "she", "mum": "she", "mother": "she", "mama": "she", "dad": "he",
    "father": "he", "papa": "he", "grandma": "she", "grandmother": "she", "granny": "she",
    "nana": "she", "grandpa": "he", "grandfather": "he", "granddaughter": "she", "grandson": "he",
    "grandchild": None, "grandkid": None, "aunt": "she", "auntie": "she", "uncle": "he",
    "cousin": None, "niece": "she", "nephew": "he", "stepson": "he", "stepdaughter": "she",
    "stepmom": "she", "stepmother": "she", "stepdad": "he", "stepfather": "he",
    "stepbrother": "he", "stepsister": "she", "twin": None, "sister-in-law": "she",
    "brother-in-law": "he", "mother-in-law": "she", "father-in-law": "he",
    "daughter-in-law": "she", "son-in-law": "he",
}
_REL_PLURAL = frozenset(
    "kids children sons daughters twins brothers sisters siblings grandkids grandchildren "
    "grandsons granddaughters cousins nieces nephews stepkids boys girls".split()
)
# Everyone has parents: "has a mom" is not worth storing unless something else is said.
_REL_TRIVIAL = frozenset(
    "mom mum mother mama dad father papa parents grandma grandmother granny nana grandpa "
    "grandfather cousin cousins".split()
)
_REL_ALT = "|".join(
    sorted((re.escape(r) for r in list(_REL_SINGULAR) + list(_REL_PLURAL)), key=len, reverse=True)
).replace("\\-in\\-law", "[- ]in[- ]law")
_REL_ADJ = (
    r"(?:(?:late|older|younger|little|big|baby|twin|eldest|oldest|youngest|middle|two|three|four|"
    r"lovely|amazing|wonderful|beautiful|new|own|dear|sweet|awesome|adult|teenage|teenaged|"
    r"\d+[- ]year[- ]old)\s+)*"
)
_REL_KEEP_ADJ = frozenset("late older younger little big twin eldest oldest youngest middle".split())

_DIETS = (
    r"vegetarian|vegan|pescatarian|pescetarian|flexitarian|teetotal|teetotaler|gluten[- ]free|"
    r"dairy[- ]free|keto|kosher|halal|sober|plant[- ]based"
)
_CONDITIONS = (
    r"asthma|diabetes|type (?:1|2|one|two) diabetes|adhd|add|autism|ocd|ptsd|anxiety|depression|"
    r"arthritis|migraines|celiac disease|coeliac disease|crohn'?s(?: disease)?|ibs|epilepsy|"
    r"lupus|eczema|psoriasis|insomnia|sleep apnea|sleep apnoea|high blood pressure|hypertension|"
    r"a bad back|a bad knee|long covid|cancer|pcos|endometriosis|tinnitus|scoliosis|"
    r"a heart condition|fibromyalgia|chronic fatigue|chronic pain|hay fever|hayfever|"
    r"an? (?:\w+ )?allergy|allergies|dyslexia|a concussion|a broken \w+|a sprained \w+|"
    r"a torn \w+|tendinitis|tendonitis|plantar fasciitis|shin splints|a cold|the flu|covid"
)
_HEALTH_ADJ = (
    r"diabetic|celiac|coeliac|asthmatic|epileptic|anemic|anaemic|deaf|hard of hearing|blind|"
    r"colou?rblind|colou?r[- ]blind|dyslexic|autistic|immunocompromised|pregnant|"
    r"(?:lactose|gluten|fructose|histamine) intolerant"
)
_LANGUAGES = frozenset(
    """
    english french spanish german italian portuguese dutch russian polish ukrainian czech greek
    turkish arabic hebrew persian farsi hindi urdu bengali punjabi tamil telugu mandarin cantonese
    chinese japanese korean vietnamese thai indonesian malay tagalog swahili yoruba igbo hausa
    amharic swedish norwegian danish finnish icelandic hungarian romanian bulgarian serbian
    croatian catalan basque welsh irish gaelic latin esperanto asl
    """.split()
)

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_NOT_NAMES = frozenset(
    (
        "i i'm im i've i'd i'll the a an and but so or is was has had just said says called "
        "named lives lived works worked got gets and ok okay lol haha yes no yeah yep nope oh "
        "he she they we you it this that there here then now today tomorrow yesterday also "
        "still who what when where why how my our your his her their its mom dad mum "
        "christmas thanksgiving easter halloween hanukkah diwali eid new year's "
        "thankfully honestly luckily sadly hopefully anyway well hey hi hello thanks thank sorry wow "
        "omg yay ugh hmm oops btw also plus last next first this these those everyone nobody "
        + _MONTHS
        + " "
        + _DAYS
    ).split()
)

# A compact gazetteer (countries, US states, well-known cities). Only used where a capitalised
# object could also be a person ("I visited Porto" vs "I visited Sarah").
_GAZETTEER = frozenset(
    x.strip().lower()
    for x in """
    Afghanistan,Albania,Algeria,Argentina,Armenia,Australia,Austria,Azerbaijan,Bahamas,Bali,
    Bangladesh,Barbados,Belarus,Belgium,Belize,Bhutan,Bolivia,Bosnia,Botswana,Brazil,Bulgaria,
    Cambodia,Cameroon,Canada,Chile,China,Colombia,Costa Rica,Croatia,Cuba,Cyprus,Czechia,
    Czech Republic,Denmark,Dominican Republic,Ecuador,Egypt,El Salvador,England,Estonia,Ethiopia,
    Fiji,Finland,France,Georgia,Germany,Ghana,Greece,Greenland,Guatemala,Haiti,Honduras,Hungary,
    Iceland,India,Indonesia,Iran,Iraq,Ireland,Israel,Italy,Jamaica,Japan,Jordan,Kazakhstan,Kenya,
    Korea,South Korea,Kosovo,Kuwait,Laos,Latvia,Lebanon,Lithuania,Luxembourg,Madagascar,Malawi,
    Malaysia,Maldives,Mali,Malta,Mauritius,Mexico,Moldova,Monaco,Mongolia,Montenegro,Morocco,
    Mozambique,Myanmar,Namibia,Nepal,Netherlands,the Netherlands,Holland,New Zealand,Nicaragua,
    Nigeria,North Macedonia,Norway,Oman,Pakistan,Panama,Paraguay,Peru,Philippines,the Philippines,
    Poland,Portugal,Puerto Rico,Qatar,Romania,Russia,Rwanda,Saudi Arabia,Scotland,Senegal,Serbia,
    Singapore,Slovakia,Slovenia,Somalia,South Africa,Spain,Sri Lanka,Sudan,Sweden,Switzerland,
    Syria,Taiwan,Tanzania,Thailand,Tunisia,Turkey,Uganda,Ukraine,United Arab Emirates,UAE,
    United Kingdom,UK,the UK,United States,USA,the US,the USA,the States,Uruguay,Uzbekistan,
    Venezuela,Vietnam,Wales,Yemen,Zambia,Zimbabwe,Europe,Asia,Africa,South America,
    Central America,North America,Scandinavia,the Caribbean,Patagonia,Tuscany,Provence,Sicily,
    Sardinia,Crete,Santorini,Mykonos,Ibiza,Mallorca,Majorca,Hawaii,Alaska,Yosemite,
    Alabama,Arizona,Arkansas,California,Colorado,Connecticut,Delaware,Florida,Idaho,Illinois,
    Indiana,Iowa,Kansas,Kentucky,Louisiana,Maine,Maryland,Massachusetts,Michigan,Minnesota,
    Mississippi,Missouri,Montana,Nebraska,Nevada,New Hampshire,New Jersey,New Mexico,New York,
    North Carolina,North Dakota,Ohio,Oklahoma,Oregon,Pennsylvania,Rhode Island,South Carolina,
    South Dakota,Tennessee,Texas,Utah,Vermont,Virginia,Washington,West Virginia,Wisconsin,Wyoming,
    Ontario,Quebec,Québec,British Columbia,Alberta,Nova Scotia,
    Accra,Abuja,Addis Ababa,Amsterdam,Antwerp,Athens,Atlanta,Auckland,Austin,Baltimore,Bangkok,
    Barcelona,Beijing,Beirut,Belfast,Belgrade,Berlin,Bern,Bilbao,Birmingham,Bogota,Bogotá,Bologna,
    Bordeaux,Boston,Brighton,Brisbane,Bristol,Brooklyn,Brussels,Bucharest,Budapest,Buenos Aires,
    Cairo,Calgary,Cambridge,Cancun,Cancún,Cape Town,Cape Coast,Cardiff,Cartagena,Casablanca,
    Chengdu,Chicago,Cologne,Copenhagen,Cork,Dallas,Delhi,New Delhi,Denver,Detroit,Dhaka,Doha,
    Dubai,Dublin,Dubrovnik,Durban,Edinburgh,El Paso,Florence,Frankfurt,Galway,Geneva,Genoa,Glasgow,
    Granada,Guadalajara,Halifax,Hamburg,Hanoi,Havana,Helsinki,Ho Chi Minh City,Hong Kong,Honolulu,
    Houston,Istanbul,Jakarta,Jerusalem,Johannesburg,Kathmandu,Kyoto,Krakow,Kraków,Kuala Lumpur,
    Lagos,Las Vegas,Leeds,Lima,Lisbon,Liverpool,Ljubljana,London,Los Angeles,LA,Lyon,Madrid,
    Malaga,Málaga,Manchester,Manila,Marrakech,Marrakesh,Marseille,Melbourne,Miami,Milan,Minneapolis,
    Montreal,Montréal,Moscow,Mumbai,Munich,Nairobi,Naples,Nashville,New Orleans,Nice,NYC,Osaka,
    Oslo,Ottawa,Oxford,Palermo,Paris,Perth,Philadelphia,Phoenix,Pittsburgh,Portland,Porto,Prague,
    Quebec City,Reykjavik,Riga,Rio,Rio de Janeiro,Rome,Rotterdam,San Diego,San Francisco,
    San Juan,Santiago,Sao Paulo,São Paulo,Sarajevo,Seattle,Seoul,Seville,Shanghai,Sintra,Sofia,
    Split,Stockholm,Sydney,Taipei,Tallinn,Tel Aviv,Tokyo,Toronto,Tulum,Valencia,Vancouver,Venice,
    Vienna,Vilnius,Warsaw,Washington DC,Wellington,Zagreb,Zurich,Zürich,Burlington,Denpasar,
    Cusco,Machu Picchu,Mexico City,Cape Cod,Lake Tahoe,Puerto Vallarta,Cabo,Oaxaca,Marseille,Krakow,Kyiv,Lviv,Tbilisi,Baku,Yerevan,Almaty,Ulaanbaatar,Kruger,Serengeti,Zanzibar,Phuket,Chiang Mai,Hokkaido,Okinawa,Hiroshima,
    Nara,Queenstown,Banff,Whistler,Amalfi,Cinque Terre,the Alps,the Rockies,Yellowstone,
    the Grand Canyon,Grand Canyon,Disneyland,Disney World,Orlando,Sedona,Napa,Maui,Kauai
    """.split(",")
)

# --------------------------------------------------------------------------------------------
# Text preparation

_TRANSLATE = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\u200d": "", "\ufe0f": "",
        "\u2026": "...", "\u2013": " - ", "\u2014": " - ",
    }
)
_DOT = "\u2024"  # stands in for the dot of an abbreviation while splitting sentences
_ABBREV_RE = re.compile(
    r"\b(St|Mt|Dr|Mr|Mrs|Ms|Jr|Sr|Prof|Ave|Rd|Blvd|Ft|Inc|Ltd|Co|Corp|vs|approx|etc|Jan|Feb|Mar|"
    r"Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.(?=\s*\S)"
)
_INITIALISM_RE = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\U00002190-\U000021ff"
    "\U00002b00-\U00002bff\U0000fe00-\U0000fe0f]+|(?<!\\w)[:;]-?[()DPp/](?!\\w)"
)
_QUOTED_RE = re.compile(r'"([^"\n]{0,300})"')
_FIRST_PERSON_RE = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|my|me|mine|we|our|us)\b", re.I)
_SENT_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?]{2})(?=\S)|\n+|\s*;\s*|\s+\.{3}\s*")
_SPACE_RE = re.compile(r"\s+")
_HSPACE_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")

_INJECTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+)*"
    r"(?:previous\s+|prior\s+|above\s+|earlier\s+|preceding\s+|former\s+|system\s+)*"
    r"(?:instructions?|prompts?|rules|directions|guidelines|context)\b"
    r"|^\W*(?:system|assistant|developer|admin)\s*(?:prompt|message|note)?\s*:"
    r"|\[\s*(?:system|inst)\s*\]|<\|?\s*(?:system|im_start)"
    r"|\b(?:record|save|store|log|write down|memori[sz]e)\s+(?:this|that|it)?\s*"
    r"(?:that\b|as\s+(?:a\s+)?(?:permanent\s+|new\s+)?(?:fact|memory))"
    r"|\b(?:say|state|claim|pretend|assume|act as if|write|tell everyone)\s+that\b"
    r"|\byou are now\b|\bjailbreak\b|\bnew instructions\b|\bfrom now on,? you\b",
    re.I,
)

_INJECTION_TRIGGERS = frozenset(
    """
    ignore disregard forget override system assistant developer admin inst im_start record save
    store log write add memorise memorize remember say state claim pretend assume act tell jailbreak
    instructions instruction
    """.split()
)


def _looks_injected(text: str) -> bool:
    """Instructions aimed at the bot/system rather than statements about the user."""
    lower = text.lower()
    tokens = set(_TOKEN_RE.findall(lower))
    if tokens.isdisjoint(_INJECTION_TRIGGERS) and not ("now" in tokens and "you" in tokens):
        return False
    return _INJECTION_RE.search(text) is not None


# A clause that opens a question even without a question mark.
_QUESTION_CLAUSE_RE = re.compile(
    r"(?:^|[,:]\s*|\s-\s|\b(?:and|but|so|or)\s+)"
    r"(?:(?:do|does|did|can|could|should|would|will|shall|is|are|am|was|were)\s+(?:you|u|i|we|it|"
    r"there|that|this|my|he|she|they)\b|(?:what|how|why|where|which|who)\b(?!\s+i\b)|"
    r"(?:any|anyone|anything)\s+(?:idea|ideas|tips?|suggestions?|recommendations?|advice)\b)",
    re.I,
)
_INTERROGATIVE_START_RE = re.compile(
    r"^(?:\W*)(?:do|does|did|can|could|should|would|will|shall|is|are|am|was|were|have|has|had|"
    r"what|what's|whats|how|how's|hows|why|where|where's|when|who|who's|which|isn't|aren't|"
    r"don't|doesn't|didn't|won't|wouldn't|shouldn't|can't|couldn't|any|anyone|u|r)\b",
    re.I,
)

_NEGATION_RE = re.compile(
    r"\b(?:not|never|no|nor|neither|no longer|nobody|none|without|hardly|barely|"
    r"(?:do|does|did|is|are|was|were|have|has|had|ca|can|could|would|should|wo|will|ai|must)n't|"
    r"dont|didnt|doesnt|isnt|wasnt|havent|cant|wont|aint|cannot)\b",
    re.I,
)
_UNREAL_RE = re.compile(
    r"\b(?:wish|wished|wishes|would|wouldn't|imagine|imagining|pretend|pretending|dream|dreaming|"
    r"dreamed|dreamt|suppose|supposing|someday|one day|hypothetically|what if|as if|in case|"
    r"said|says|say that|told|tells|tell (?:them|him|her|everyone|people)|asked|asks|thinks|"
    r"thought|claims|claimed|joked|jokes|lied|roleplay|role-play|in character|you think|"
    r"you thought|you said|you'd|you would|you assume|you guess|should i|do you|would you|"
    r"could you|can you|are you)\b",
    re.I,
)
# A condition in the same clause voids the lead; in an earlier clause it only hedges it.
_CONDITION_RE = re.compile(r"\b(?:if|unless|whether|once|when i get|after i get)\b", re.I)
_IDIOM_IF_RE = re.compile(
    r"\bif (?:i can|i could|possible|i'm honest|i am honest|i'm being honest|you ask me|"
    r"that makes sense|anything|not|so|you must know|i remember correctly|ever|i may|you will)\b",
    re.I,
)
_HEDGE_STRONG_RE = re.compile(
    r"\b(?:maybe|probably|prob|might|perhaps|possibly|hopefully|not sure|potentially)\b", re.I
)
_HEDGE_WEAK_RE = re.compile(
    r"\b(?:i think|i guess|i believe|i suppose|i reckon|i feel like|kind of|kinda|sort of|sorta|"
    r"pretty sure|likely|almost|ish|i hope|someday|some day|one day|eventually|at some point)\b",
    re.I,
)

_CUT_RE = re.compile(
    r"\s*(?:[,;:!?()\[\]\"]|\.(?=\s|$)|\.\.+|\s-+\s"
    r"|\s(?:but|because|cause|'cause|coz|cuz|so|which|who|whom|whose|when|whenever|while|whilst|"
    r"though|although|if|unless|until|till|since|as|where|whereas|lol|lmao|lmfao|rofl|haha\w*|"
    r"hehe\w*|tbh|btw|imo|imho|honestly|rn|idk|plus|then|like|cos|bc|b/c|and then|anyway|"
    r"ok|okay|yeah|yay|omg|which|that's|thats|it's|its|what)\b"
    r"|\s(?:and|&|or|n)\s(?!(?!I\b|I'|Im\b)[A-Z])"
    r"|$)"
)
_COMMA_PLACE_RE = re.compile(r",\s+([A-Z][\w'.\u2024-]+(?:\s+[A-Z][\w'.\u2024-]+)?)(?=\s*(?:[,.!?;]|$))")
_TRAIL_FILLER_RE = re.compile(
    r"(?:\s+|^)(?:lol|haha\w*|hehe\w*|lmao|tbh|btw|honestly|actually|really|too|again|anyway|"
    r"anymore|though|now|right now|at the moment|atm|currently|these days|nowadays|lately|"
    r"recently|still|already|mostly|in general|generally|overall|for sure|for real|obviously|"
    r"of course|as well|and stuff|and all|or so|or something|i guess|i think|i reckon|"
    r"i suppose|rn|ok|okay|yay|yeah|though|so much|a lot|very much|big time|tho|lately|finally|"
    r"haha|xd|x|here|there|btw|someday|some day|one day|eventually|at some point|in the future)$",
    re.I,
)
_TRAIL_TIME_RE = re.compile(
    r"\s+(?:for\s+(?:about\s+|almost\s+|over\s+|nearly\s+|around\s+|like\s+|the\s+(?:past|last)\s+|"
    r"more than\s+)?(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+|a few|a couple of|"
    r"several|many|some|a couple)\s+(?:years?|months?|weeks?|days?|decades?)(?:\s+now)?"
    r"|for\s+(?:years|ages|a while|a long time|so long|decades|life)"
    r"|every\s+(?:single\s+)?(?:day|week|weekend|morning|evening|night|month|year|summer|winter|"
    r"\w+day|other \w+)|on\s+(?:\w+days|weekends|the weekends?|weekdays)|(?:once|twice|three times)"
    r"\s+(?:a|per)\s+(?:week|month|day|year)|at\s+weekends|most\s+(?:days|weekends|mornings|"
    r"evenings|nights)|daily|weekly|regularly|all the time|every now and then|sometimes|often|"
    r"in my (?:free|spare) time|in their (?:free|spare) time|for fun|last\s+(?:year|month|week|"
    r"summer|spring|fall|autumn|winter|weekend|night|time)|(?:in|back in)\s+(?:19|20)\d\d|"
    r"yesterday|today|tonight|this\s+(?:morning|week|year|month|weekend)|"
    r"(?:in|since|back in|last|this past)\s+(?:the\s+)?(?:january|february|march|april|may|june|july|august|"
    r"september|october|november|december|spring|summer|fall|autumn|winter)|"
    r"(?:a\s+)?(?:few|couple of|\d+|two|three)\s+(?:years|months|weeks|days)\s+ago|"
    r"as a (?:kid|child|teen|teenager)|when (?:i|they) was (?:a )?(?:kid|child|younger)|"
    r"since\s+\S+)$",
    re.I,
)
_TRAIL_PAST_RE = re.compile(
    r"\s+(?:yesterday|earlier(?: today| this week)?|last\s+(?:year|month|week|summer|spring|fall|autumn|"
    r"winter|weekend|night|time|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|friday|monday|tuesday|"
    r"wednesday|thursday|saturday|sunday)|"
    r"this past \w+|(?:about\s+|around\s+|almost\s+|over\s+|like\s+|nearly\s+)?(?:a|an|one|two|three|"
    r"four|five|six|seven|eight|nine|ten|\d+|a few|a couple of|a couple|several|many)\s+(?:years?|months?|"
    r"weeks?|days?|decades?)\s+ago|(?:not\s+)?(?:so\s+)?long\s+ago|recently|just now)$",
    re.I,
)
_TRAIL_DANGLING_RE = re.compile(
    r"\s+(?:a|an|the|to|of|in|on|at|for|with|and|or|my|their|some|from|by|about|into|your|"
    r"our|is|are|was|were|be|just|very|really|so|that|this|it)$",
    re.I,
)
_LEAD_FILLER_RE = re.compile(
    r"^(?:(?:maybe|probably|possibly|perhaps|just|really|also|actually|basically|like|kinda|"
    r"kind of|sort of|definitely|totally|absolutely|so|super|very|all)\s+)+",
    re.I,
)
_PRONOUN_SWAPS = (
    (re.compile(r"\bmyself\b", re.I), "themselves"),
    (re.compile(r"\bourselves\b", re.I), "themselves"),
    (re.compile(r"\bmy\b", re.I), "their"),
    (re.compile(r"\bour\b", re.I), "their"),
    (re.compile(r"\bmine\b", re.I), "theirs"),
    (re.compile(r"\bme\b", re.I), "them"),
    (re.compile(r"\bus\b"), "them"),
    (re.compile(r"\bI'm\b"), "they're"),
    (re.compile(r"\bI\b"), "they"),
)
_YOU_RE = re.compile(r"\b(?:you|your|yours|yourself|u|ur|ya|y'all|bot)\b", re.I)
_TIME_NOUNS = (
    r"week|weekend|month|year|morning|afternoon|evening|night|summer|winter|spring|fall|autumn|"
    r"time|semester|term|season|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_DEICTIC_RE = re.compile(
    r"\b(?:it|these|those|there|here|it's|its)\b|\b(?:this|that)\b(?!\s+(?:coming\s+|past\s+)?(?:"
    + _TIME_NOUNS
    + r")\b)",
    re.I,
)
_BAD_OBJECT_START = frozenset(
    """
    it its it's this that these those them they there here you your how what when where why which
    who whom one ones so such too very some something anything everything nothing him her his he
    she we us lots all both being myself yourself whatever whoever much more most every each any
    sharing hearing seeing knowing talking chatting about feeling the a an to of in
    on at for with is are was be been
    """.split()
)
_ARTICLE_OK_START = frozenset({"the", "a", "an", "to"})
_VAGUE_LAST = frozenset("few lot lots couple bit some things stuff one ones more much many all".split())



def _norm_space(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def _restore(text: str) -> str:
    return text.replace(_DOT, ".")


# Slang and baby-talk words for pets and relatives, replaced by the standard word so the rules
# and the stored fact use it ("a pup and a kitty" -> "a dog and a cat", "my fam" -> "my family").
# Only right after a determiner or possessive (plus at most one common adjective) and never in a
# capitalised word, so names ("Kitty") and other senses ("a seal pup", "gym bunny") are untouched.
_SLANG_WORDS = {
    "pup": "dog", "pups": "dogs", "doggo": "dog", "doggos": "dogs", "pupper": "dog",
    "puppers": "dogs", "kitty": "cat", "kitties": "cats", "bunny": "rabbit", "bunnies": "rabbits",
    "fam": "family", "hubby": "husband", "wifey": "wife", "bf": "boyfriend", "gf": "girlfriend",
    "bff": "best friend", "kiddo": "kid", "kiddos": "kids", "kiddies": "kids",
    "grandbaby": "grandchild", "grandbabies": "grandchildren",
}
_SLANG_RE = re.compile(
    r"\b(?P<lead>(?:my|our|their|his|her|your|a|an|the|another|one|two|three|four|five)\s+"
    r"(?:(?:little|sweet|new|old|baby|rescue|fluffy|tiny|big|cute|lovely|adorable|senior|furry|"
    r"beloved|own)\s+)?)(?P<word>" + "|".join(sorted(_SLANG_WORDS, key=len, reverse=True)) + r")\b(?![-'\u2024]\w)",
    re.I,
)
# Substrings one of which every slang word contains: most messages skip the regex altogether.
_SLANG_HINTS = ("pup", "dogg", "kitt", "bunn", "fam", "hubby", "wifey", "bf", "gf", "kidd", "grandbab")


def _unslang(m: re.Match[str]) -> str:
    word = m.group("word")
    if word[:1].isupper() and not word.isupper():
        return m.group(0)  # "my cat Kitty": a name
    return m.group("lead") + _SLANG_WORDS[word.lower()]


def _prepare(text: str) -> str:
    """Normalise quotes/space/slang, protect abbreviation dots, drop quoted first-person speech and emoji."""
    text = text.translate(_TRANSLATE)
    lower = text.lower()
    if any(hint in lower for hint in _SLANG_HINTS):
        text = _SLANG_RE.sub(_unslang, text)
    text = _NEWLINES_RE.sub("\n", _HSPACE_RE.sub(" ", text))
    text = _ABBREV_RE.sub(lambda m: m.group(1) + _DOT, text)
    text = _INITIALISM_RE.sub(lambda m: m.group(0).replace(".", _DOT), text)

    def _quoted(m: re.Match[str]) -> str:
        inner = m.group(1)
        # Quoted speech in the first person is somebody else talking; titles stay.
        return " ; " if _FIRST_PERSON_RE.search(inner) else inner

    text = _QUOTED_RE.sub(_quoted, text)
    text = _EMOJI_RE.sub(" ; ", text)
    return text


def _statement_part(sentence: str) -> str:
    """The part of a sentence that is a statement (questions and question clauses removed)."""
    s = sentence.strip()
    if not s:
        return ""
    if _INTERROGATIVE_START_RE.match(s) and (s.endswith("?") or _QUESTION_CLAUSE_RE.match(s)):
        return ""
    m = _QUESTION_CLAUSE_RE.search(s)
    while m is not None and m.start() == 0 and not _INTERROGATIVE_START_RE.match(s):
        m = _QUESTION_CLAUSE_RE.search(s, m.end())
    if m is not None:
        s = s[: m.start()]
    elif s.endswith("?"):
        # "I'm allergic to peanuts, any snack ideas?": keep all but the final clause.
        cut = max(s.rfind(","), s.rfind(" - "))
        if cut <= 0:
            return ""
        s = s[:cut]
    return s.strip(" ,;:-")


def _chunks(sentence: str) -> Iterator[str]:
    """A run-on sentence cut at commas into pieces of at most _MAX_SENTENCE characters."""
    while len(sentence) > _MAX_SENTENCE:
        cut = sentence.rfind(",", 0, _MAX_SENTENCE)
        cut = cut if cut > 0 else _MAX_SENTENCE
        yield sentence[:cut]
        sentence = sentence[cut + 1 :]
    yield sentence


def _sentences(text: str) -> list[str]:
    prepared = _prepare(text)
    out: list[str] = []
    for raw in _SENT_SPLIT_RE.split(prepared):
        if not raw or not raw.strip():
            continue
        for chunk in _chunks(_norm_space(raw)):
            part = _statement_part(chunk)
            if part:
                out.append(part)
    return out


# --------------------------------------------------------------------------------------------
# Object capture and cleaning


def _cut(rest: str, *, keep_place_comma: bool = True) -> str:
    """Text from the start of `rest` to the first clause boundary (a "City, State" comma survives)."""
    pos = 0
    while True:
        m = _CUT_RE.search(rest, pos)
        assert m is not None  # `$` always matches
        if keep_place_comma and rest.startswith(",", m.start() + len(m.group(0)) - 1):
            pm = _COMMA_PLACE_RE.match(rest, m.end() - 1)
            before = rest[: m.start()].split()
            if (
                pm
                and before
                and before[-1][:1].isupper()
                and pm.group(1).split()[0] not in {"I", "I'm", "Im", "But", "And", "So", "The"}
                and pm.group(1).split()[0].lower() not in _NOT_NAMES
            ):
                return rest[: pm.end()].strip()
        return rest[: m.start()].strip()


def _swap_pronouns(text: str) -> str:
    for rx, repl in _PRONOUN_SWAPS:
        text = rx.sub(repl, text)
    return text


def _tidy(obj: str, *, trim_time: bool) -> str:
    obj = _norm_space(obj).strip(" ,.;:!?-'\"")
    if len(obj) > 160:
        return obj  # far too long to be accepted as an object; every caller rejects it
    obj = _LEAD_FILLER_RE.sub("", obj)
    for _ in range(6):
        before = obj
        obj = _TRAIL_FILLER_RE.sub("", obj).strip(" ,.;:!?-")
        obj = _TRAIL_PAST_RE.sub("", obj).strip(" ,.;:!?-")
        if trim_time:
            obj = _TRAIL_TIME_RE.sub("", obj).strip(" ,.;:!?-")
        obj = _TRAIL_DANGLING_RE.sub("", obj).strip(" ,.;:!?-")
        if obj == before:
            break
    return obj


def _free_object(
    rest: str, *, trim_time: bool = True, max_words: int = 9, allow_deictic: bool = False
) -> str | None:
    """A short noun/verb phrase object, or None when it is empty, vague or about the bot."""
    raw = _cut(rest, keep_place_comma=True)
    if _SPLIT_ADJECTIVES_RE.match(rest[len(raw) :] if rest.lstrip().startswith(raw) else "") and _ENDS_DET_WORD_RE.search(raw):
        return None  # "a safe, inviting place": the cut fell inside a list of adjectives
    obj = _tidy(raw, trim_time=trim_time)
    if not obj or not any(ch.isalpha() for ch in obj):
        return None
    words = obj.split()
    if len(words) > max_words or len(obj) > 90:
        return None
    first = words[0].lower()
    if first in _BAD_OBJECT_START and first not in _ARTICLE_OK_START:
        return None
    if first in _ARTICLE_OK_START and len(words) == 1:
        return None
    if _YOU_RE.search(obj):
        return None
    if not allow_deictic and _DEICTIC_RE.search(obj):
        return None
    if words[-1].lower() in _VAGUE_LAST:
        return None
    return _swap_pronouns(obj)


_SPLIT_ADJECTIVES_RE = re.compile(r"\s*,\s*(?-i:[a-z])[\w-]+\s+(?-i:[a-z])[\w-]+")
_ENDS_DET_WORD_RE = re.compile(r"\b(?:a|an|the|some|very|so|really|more|most)\s+[\w-]+$", re.I)


_PLACE_CONNECTORS = frozenset("of the de del la le los las du da do upon on am an der di y & and".split())


def _place_object(rest: str, *, allow_article: bool = True) -> str | None:
    """A capitalised place name at the start of `rest` ("Portland, Maine", "the UK", "St. Mary's")."""
    text = _cut(rest, keep_place_comma=True)
    tokens = text.split()
    out: list[str] = []
    i = 0
    if allow_article and tokens and tokens[0].lower() == "the" and len(tokens) > 1 and tokens[1][:1].isupper():
        out.append("the")
        i = 1
    while i < len(tokens):
        tok = tokens[i]
        bare = tok.rstrip(",")
        if bare[:1].isupper() and bare not in {"I", "I'm", "Im", "I've", "I'll", "I'd"}:
            if bare.lower().strip(".") in _NOT_NAMES and not out:
                return None
            if bare.lower() in (_MONTHS + " " + _DAYS).split():
                break
            out.append(tok)
            i += 1
            continue
        if (
            out
            and bare in _PLACE_CONNECTORS
            and i + 1 < len(tokens)
            and tokens[i + 1][:1].isupper()
            and not out[-1].endswith(",")
        ):
            out.append(tok)
            i += 1
            continue
        break
    while out and (out[-1] in _PLACE_CONNECTORS or out[-1] == "the"):
        out.pop()
    if not out or (len(out) == 1 and out[0] == "the"):
        return None
    place = " ".join(out).strip(" ,")
    if len(place.split()) > 6 or place.endswith("'s"):
        return None
    return place


def _is_known_place(place: str) -> bool:
    p = place.lower()
    if p in _GAZETTEER:
        return True
    head = p.split(",")[0].strip()
    if head in _GAZETTEER:
        return True
    words = head.split()
    return any(" ".join(words[:n]) in _GAZETTEER for n in range(1, len(words)))


def _name_at(rest: str) -> str | None:
    """A capitalised personal name (one or two words) at the start of `rest`."""
    m = _NAME_RE.match(rest)
    if not m:
        return None
    name = m.group(1)
    parts = name.split()
    kept: list[str] = []
    for p in parts:
        if p.lower() in _NOT_NAMES or p.isupper() and len(p) > 1:
            break
        kept.append(p)
    if not kept:
        return None
    return " ".join(kept)


_NAME_RE = re.compile(r"\s*,?\s*((?-i:[A-Z][a-zà-ÿ'\-]+)(?:\s+(?-i:[A-Z][a-zà-ÿ'\-]+))?)(?![\w\u2024])")
_NAMES_LIST_RE = re.compile(
    r"\s*,?\s*((?-i:[A-Z][a-zà-ÿ'\-]+))(?:,\s*|\s+)and\s+((?-i:[A-Z][a-zà-ÿ'\-]+))\b"
)


def _third_person(verb: str) -> str:
    v = verb.lower()
    if v in {"do", "go"}:
        return v + "es"
    if v == "have":
        return "has"
    if re.search(r"(?:s|sh|ch|x|z)$", v):
        return v + "es"
    if re.search(r"[^aeiou]y$", v):
        return v[:-1] + "ies"
    return v + "s"


def _article(noun_phrase: str) -> str:
    return "an" if noun_phrase[:1].lower() in "aeiou" else "a"


# --------------------------------------------------------------------------------------------
# Rules

ADV = (
    r"(?:(?:also|still|currently|now|actually|really|just|already|finally|both|originally|"
    r"definitely|totally|officially|basically|recently|mainly|mostly|kinda|kind of|sort of|"
    r"pretty much|probably|technically|usually|even|literally|honestly|seriously|absolutely|"
    r"so|too|all|even|happily|proudly|newly|currently|legit|genuinely|truly|obviously)\s+)*"
)
IM = r"\b(?:i'm|im|i\s+am)\s+" + ADV
IVE = r"\b(?:i've|ive|i\s+have)\s+" + ADV
IWE = r"\b(?P<subj>i|we)\s+" + ADV
IMWE = r"\b(?P<subj>i'm|im|i\s+am|we're|we\s+are|(?:my\s+\w+(?:\s+(?-i:[A-Z]\w+))?\s+and\s+i\s+are))\s+" + ADV


@dataclass(frozen=True)
class _Ctx:
    sentence: str
    message: str  # the whole prepared message, lower-cased


Emit = tuple[Category, str, float]
Handler = Callable[[re.Match[str], str, _Ctx], Iterable[Emit]]


@dataclass(frozen=True)
class _Rule:
    name: str
    words: frozenset[str]  # the rule can only match a sentence containing one of these words
    regex: re.Pattern[str]
    handler: Handler
    check_context: bool = True  # apply negation / hypothetical guards to the text before the match


_RULES: list[_Rule] = []


def _rule(name: str, words: str, pattern: str, *, check_context: bool = True) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        _RULES.append(
            _Rule(name, frozenset(words.split()), re.compile(pattern, re.I), fn, check_context)
        )
        return fn

    return deco


def _subj_conf(m: re.Match[str], base: float = EXPLICIT) -> float:
    subj = (m.groupdict().get("subj") or "i").lower()
    return base if subj in {"i", "i'm", "im", "i am"} or subj.startswith("i ") else min(base, INDIRECT)


# ---- occupation / employer --------------------------------------------------------------------

_JOB_SPLIT_RE = re.compile(r"\s+(at|for|with|in|on)\s+(?=\S)", re.I)


def _job_phrase(phrase: str, *, need_lexicon: bool) -> str | None:
    words = phrase.split()
    if not words or len(words) > 6:
        return None
    if words[0].lower() not in {"a", "an", "the"}:
        words = [_article(phrase), *words]
    if any(w.lower() in _BAD_JOB_ADJ for w in words[1:]):
        return None
    head = words[-1].lower().strip(".,")
    compound = " ".join(w.lower() for w in words[-2:])
    if need_lexicon and head not in _JOB_HEADS and head not in _STATUS_HEADS and compound not in _JOB_COMPOUNDS:
        return None
    if _YOU_RE.search(phrase) or _DEICTIC_RE.search(phrase):
        return None
    if any(w.lower() in _BAD_OBJECT_START - _ARTICLE_OK_START for w in words[1:]):
        return None
    return " ".join(words)


_ORG_TAIL_RE = re.compile(
    r"\s+(?:(?-i:[a-z]+ing)|on|next|this|starting|from|tomorrow|today|tonight|soon|since|for|doing|where|in\s+(?:january|february|march|"
    r"april|may|june|july|august|september|october|november|december|the\s+\w+|\d{4}|\w+\s+(?:years?|months?|"
    r"weeks?)))\b.*$",
    re.I,
)


def _org(text: str) -> tuple[str, float] | None:
    """An employer/school name: a capitalised name, or 'a/the <org noun>' (lower confidence)."""
    text = _ORG_TAIL_RE.split(text, maxsplit=1)[0]
    text = _tidy(text, trim_time=True)
    if not text:
        return None
    words = text.split()
    if len(words) > 6 or _YOU_RE.search(text):
        return None
    if words[0][:1].isupper() and words[0] not in {"I", "I'm"} and words[0].lower() not in _NOT_NAMES:
        return text, EXPLICIT
    if words[0].lower() in {"a", "an", "the"} and words[-1].lower() in _ORG_NOUNS and len(words) <= 4:
        return _swap_pronouns(text), INDIRECT
    return None


def _job_and_org(rest: str, conf: float, *, need_lexicon: bool, past: bool = False) -> Iterator[Emit]:
    text = _tidy(re.split(r"\s+(?:before|after|when|until|till|during)\s+", _cut(rest), maxsplit=1, flags=re.I)[0], trim_time=True)
    if not text:
        return
    parts = _JOB_SPLIT_RE.split(text, maxsplit=1)
    if len(parts) == 3 and parts[1].lower() in {"in", "on"}:
        # "a nurse in Boston" is a place, not an employer; "a PhD student in biology at Duke" has one
        later = re.split(r"\s+(?:at|for)\s+", parts[2], maxsplit=1)
        parts = [parts[0], later[1]] if len(later) == 2 else parts[:1]
    elif len(parts) == 3:
        parts = [parts[0], parts[2]]
    job = _job_phrase(parts[0], need_lexicon=need_lexicon)
    if job is None:
        return
    head = job.split()[-1].lower()
    lead_occ = "used to work as" if past else "works as"
    lead_emp = "used to work at" if past else "works at"
    if head in _STATUS_HEADS:
        yield _STATUS_HEADS[head], ("used to be " if past else "is ") + job, conf
    else:
        yield Category.OCCUPATION, f"{lead_occ} {job}", conf
    if len(parts) == 2:
        org = _org(parts[1])
        if org is not None:
            name, oconf = org
            lead = ("studied at" if past else "studies at") if head in _STATUS_HEADS and _STATUS_HEADS[head] is Category.EDUCATION else lead_emp
            yield Category.EMPLOYER, f"{lead} {name}", min(conf, oconf)


_LEAVING_RE = re.compile(
    r"\b(?:leaving|left|quit|quitting|resigned|resigning|laid off|fired|lost) (?:my|the|this)? ?job\b"
    r"|\bmy last day\b|\bformer(?:ly)?\b|\bused to\b",
    re.I,
)


@_rule("work_as", "work working", r"\b(?P<subj>i|i'm|im|i\s+am|we|we're|we\s+are)\s+" + ADV + r"(?:work|working)\s+as\s+")
def _h_work_as(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if (m.group("subj") or "").lower().startswith("we"):
        return []
    return _job_and_org(rest, EXPLICIT, need_lexicon=False)


@_rule("im_a_job", "i'm im am", IM + r"(?:a|an|the)\s+")
def _h_im_a(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    if not text:
        return []
    first = text.split()[0].lower()
    if first in {"retired", "former", "ex"} and len(text.split()) >= 2:
        past = list(_job_and_org(" ".join(text.split()[1:]), EXPLICIT, need_lexicon=True, past=True))
        if past and first == "retired":
            past.append((Category.OCCUPATION, "is retired", EXPLICIT))
        return past
    if first in {"amateur", "hobby", "hobbyist", "keen", "avid", "passionate", "big", "huge", "casual", "weekend"}:
        words = text.split()
        if len(words) <= 3 and words[-1].lower() in (_HOBBY_PERSON_HEADS | _AMBIGUOUS_JOB_HEADS | {"fan"}):
            if words[-1].lower() == "fan":
                return []
            return [(Category.HOBBY, f"is {_article(text)} {text}", EXPLICIT)]
    if re.search(r"\b(?:as|for)\s+(?:a\s+)?(?:hobby|fun|a\s+side\s+thing)\b", ctx.sentence, re.I):
        words = text.split()
        if len(words) <= 3 and not re.search(r"\b(?:as|for)\b", text):
            return [(Category.HOBBY, f"is {_article(text)} {text}", EXPLICIT)]
        hw = re.split(r"\s+(?:as|for)\s+", text, maxsplit=1)[0]
        if 1 <= len(hw.split()) <= 3:
            return [(Category.HOBBY, f"is {_article(hw)} {hw}", EXPLICIT)]
        return []
    words = _JOB_SPLIT_RE.split(text, maxsplit=1)[0].split()
    if words and len(words) <= 3 and words[-1].lower() in _HOBBY_PERSON_HEADS - _JOB_HEADS and words[-1].lower() not in _AMBIGUOUS_JOB_HEADS:
        return [(Category.HOBBY, f"is {_article(text)} {' '.join(words)}", EXPLICIT)]
    return _job_and_org(rest, EXPLICIT, need_lexicon=True)


@_rule("ive_been_job", "been", IVE + r"been\s+(?:a|an)\s+")
def _h_ive_been(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    past = bool(_LEAVING_RE.search(ctx.message))
    return _job_and_org(rest, INDIRECT, need_lexicon=True, past=past)


@_rule(
    "used_to_job",
    "used",
    r"(?:\b(?P<subj>i|we)\s+|(?:^|,\s*|\band\s+))" + ADV + r"used\s+to\s+(?:be|work\s+as)\s+(?:a|an)\s+",
)
def _h_used_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = m.group("subj")
    if subj is None:
        # Subject left out: the sentence opens with it, or is plainly about the speaker
        # ("I'm 68 and retired, used to be a carpenter") and nobody else is mentioned before it.
        prefix = ctx.sentence[: m.start()]
        if prefix.strip() and (
            not re.match(r"\s*(?:i|i'm|im|i've)\b", prefix, re.I) or _OTHER_PERSON_RE.search(prefix)
        ):
            return []
        conf = INDIRECT
    elif subj.lower() == "we":
        return []
    else:
        conf = EXPLICIT
    return _job_and_org(rest, conf, need_lexicon=True, past=True)


_OTHER_PERSON_RE = re.compile(
    r"\b(?:he|she|they|his|her|their|who|guy|man|woman|friend|someone|somebody|my\s+\w+|(?-i:[A-Z][a-z]+))\b",
    re.I,
)


@_rule("was_a_job", "was", r"\bi\s+" + ADV + r"was\s+(?:a|an)\s+(?=[\w\s-]{2,40}?(?:\s+for\s+(?:\d+|a\s+few|many|several|two|three|four|five|six|seven|eight|nine|ten|over|almost|about|nearly)\b|\s+(?:before|until|back\s+in|in\s+the\s+(?:army|navy|military|air\s+force)|at\s+(?-i:[A-Z]))\b|\s*(?:[.!;]|$)))")
def _h_was_a_job(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if re.search(r"\b(?:halloween|costume|dressed|kid|child|teen|teenager|little|young|baby)\b", ctx.sentence, re.I):
        return []
    return list(_job_and_org(rest, INDIRECT, need_lexicon=True, past=True))


@_rule("used_to_work_at", "used", r"\b(?P<subj>i)\s+" + ADV + r"used\s+to\s+work\s+(?:at|for)\s+")
def _h_used_to_work_at(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    org = _org(_cut(rest))
    if org is None:
        return []
    return [(Category.EMPLOYER, f"used to work at {org[0]}", org[1])]


@_rule("work_x_as", "work", r"\bi\s+" + ADV + r"work\s+(?:(?:nights|days|weekends|part[- ]time|full[- ]time|remotely|mostly|here|there)\s+)?(?:at|for|in|from)\s+(?P<org>[^,.;!?]{2,40}?)\s+as\s+(?=(?:a|an)\s)")
def _h_work_x_as(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    out = [e for e in _job_and_org(rest, EXPLICIT, need_lexicon=True) if e[0] is not Category.EMPLOYER]
    if out:
        org = _org(m.group("org")) if re.search(r"\b(?:at|for)\s+" + re.escape(m.group("org")), m.group(0)) and m.group("org").lower() != "home" else None
        if org:
            out.append((Category.EMPLOYER, f"works at {org[0]}", org[1]))
    return out


@_rule("work_at", "work working", r"(?:\b(?P<subj>i|i'm|im|i\s+am)\s+" + ADV + r"|(?P<and>\band\s+))(?:work|working)\s+(?:(?:remotely|part[- ]time|full[- ]time|freelance|mostly)\s+)?(?:at|for)\s+")
def _h_work_at(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if m.group("and") is not None:
        # "I teach yoga and work at a bank": only when the sentence is plainly about the speaker
        before = ctx.sentence[: m.start()]
        if not re.match(r"\s*(?:i|i'm|im)\s", before, re.I) or re.search(r"\b(?:he|she|they|we|you|my|his|her|their)\b", before, re.I):
            return []
    org = _org(_cut(rest))
    if org is None:
        return []
    name, conf = org
    if name.lower() in {"myself", "home", "a living"}:
        return []
    return [(Category.EMPLOYER, f"works at {name}", conf if m.group("and") is None else min(conf, INDIRECT))]


@_rule("work_in", "work", r"\bi\s+" + ADV + r"work\s+in\s+(?=[a-z]|[A-Z]{2,4}\b)")
def _h_work_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=4)
    if obj is None or obj.split()[0].lower() in {"a", "an", "the", "their"}:
        return []
    if obj[:1].isupper() and not (obj.isupper() and len(obj) <= 4):
        return []
    return [(Category.OCCUPATION, f"works in {obj}", WEAK)]


@_rule("teach", "teach", r"\bi\s+" + ADV + r"teach\s+")
def _h_teach(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    if not text:
        return []
    parts = re.split(r"\s+(?:at|in)\s+", text, maxsplit=1)
    subject = parts[0]
    words = subject.split()
    if not words or len(words) > 4 or words[0].lower() in _BAD_OBJECT_START | {"my", "them", "people", "kids", "myself"}:
        return []
    if re.search(r"\b(?:my|their|to|how)\b", subject, re.I) or _YOU_RE.search(subject):
        return []
    out: list[Emit] = [(Category.OCCUPATION, f"teaches {subject}", EXPLICIT)]
    if len(parts) == 2 and re.search(r"\bat\s", text):
        org = _org(parts[1])
        if org is not None:
            out.append((Category.EMPLOYER, f"works at {org[0]}", org[1]))
    return out


@_rule("run_business", "own run manage", r"\bi\s+" + ADV + r"(?P<verb>own|run|manage)\s+(?P<det>a|an|my\s+own|my|the)\s+")
def _h_run_business(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_PURPOSE_SPLIT_RE.split(_cut(rest), maxsplit=1)[0], trim_time=True)
    text = re.split(r"\s+in\s+", text, maxsplit=1)[0]
    words = text.split()
    if not words or len(words) > 4:
        return []
    if words[-1].lower() not in _BUSINESS_NOUNS and " ".join(words[-2:]).lower() not in _BUSINESS_NOUNS:
        return []
    det = _swap_pronouns(m.group("det").lower())
    return [(Category.OCCUPATION, f"{_third_person(m.group('verb'))} {det} {text}", EXPLICIT)]


@_rule("opened_business", "opened started launched founded", r"\bi\s+" + ADV + r"(?:opened|started|launched|founded)\s+(?P<det>a|an|my\s+own|my)\s+")
def _h_opened_business(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    words = text.split()
    if not words or len(words) > 5 or _YOU_RE.search(text):
        return []
    if words[-1].lower() not in _BUSINESS_NOUNS - {"practice", "label", "brand"}:
        return []
    det = _swap_pronouns(m.group("det").lower())
    if det in {"a", "an"}:
        det = _article(text)
    return [(Category.OCCUPATION, f"runs {det} {text}", INDIRECT)]


@_rule(
    "new_job",
    "job",
    r"\b(?:(?P<got>i\s+" + ADV + r"(?:got|landed|accepted|took|started))|(?P<starting>(?:i'm|im|i\s+am)\s+" + ADV
    + r"starting))\s+(?:a|the|my)\s+(?:new\s+)?job\s+(?P<prep>as|at)\s+",
)
def _h_new_job(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = EXPLICIT if m.group("got") else INDIRECT
    out: list[Emit] = []
    if m.group("prep").lower() == "as":
        out.extend(_job_and_org(rest, conf, need_lexicon=False))
    else:
        org = _org(_cut(rest))
        if org:
            out.append((Category.EMPLOYER, f"works at {org[0]}", min(conf, org[1])))
    if m.group("starting") and out:
        obj = _free_object(m.group(0)[m.group(0).lower().index("starting") + 9 :] + rest, trim_time=False, max_words=14)
        if obj:
            out.append((Category.PLAN, f"is starting {obj}", EXPLICIT))
    return out


@_rule(
    "status",
    "retired unemployed self-employed employed freelancing freelancer retiree jobs work",
    IM + r"(?:\d{1,3}\s+and\s+)?(?P<status>retired|unemployed|self-employed|self employed|freelancing|"
    r"a\s+freelancer|a\s+retiree|between\s+jobs|out\s+of\s+work)\b(?!\s+(?:from|as)\b)",
)
def _h_status(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    status = _norm_space(m.group("status").lower())
    status = {
        "self employed": "self-employed",
        "a retiree": "retired",
        "freelancing": "a freelancer",
        "between jobs": "unemployed",
        "out of work": "unemployed",
    }.get(status, status)
    return [(Category.OCCUPATION, f"is {status}", EXPLICIT)]


@_rule(
    "lost_job",
    "job laid fired redundant let",
    r"(?:(?P<lost>(?:\bi\s+" + ADV + r"|^)(?:lost|quit)\s+my\s+job)|(?P<laid>i\s+" + ADV
    + r"(?:got|was|been)\s+(?:laid\s+off|let\s+go|fired|made\s+redundant))|(?P<leaving>(?:i'm|im|i\s+am)\s+"
    + ADV + r"(?:leaving|quitting)\s+my\s+job))\b",
)
def _h_lost_job(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    # One clause, one fact: "lost my job as a banker at Chase" -> "lost their job as a banker at
    # Chase" (not three facts: lost a job, used to be a banker, used to work at Chase).
    if m.group("lost"):
        verb = "quit" if "quit" in m.group("lost").lower() else "lost"
        am = re.match(r"\s+(?:as\s+(?P<as>(?:a|an)\s+.*)|at\s+(?P<at>.*))", rest, re.I)
        if am and am.group("as"):
            job: str | None = None
            org: tuple[str, float] | None = None
            for cat, fact, _ in _job_and_org(am.group("as"), EXPLICIT, need_lexicon=True, past=True):
                if cat is Category.OCCUPATION and fact.startswith(("used to work as ", "used to be ")):
                    job = fact.removeprefix("used to work as ").removeprefix("used to be ")
                elif cat is Category.EMPLOYER and fact.startswith("used to work at "):
                    org = (fact.removeprefix("used to work at "), EXPLICIT)
            if job is not None and org is not None:
                return [(Category.EMPLOYER, f"{verb} their job as {job} at {org[0]}", EXPLICIT)]
            if job is not None:
                return [(Category.OCCUPATION, f"{verb} their job as {job}", EXPLICIT)]
        elif am and am.group("at"):
            org = _org(_cut(am.group("at")))
            if org:
                return [(Category.EMPLOYER, f"{verb} their job at {org[0]}", min(EXPLICIT, org[1]))]
        return [(Category.OTHER, f"{verb} their job", EXPLICIT)]
    if m.group("laid"):
        am = re.match(r"\s+(?:from|at|by)\s+(.*)", rest, re.I)
        if am:
            org = _org(_cut(am.group(1)))
            if org and org[0][:1].isupper():
                return [(Category.EMPLOYER, f"lost their job at {org[0]}", org[1])]
        return [(Category.OTHER, "lost their job", EXPLICIT)]
    return [(Category.PLAN, "is leaving their job", EXPLICIT)]


# ---- education ----------------------------------------------------------------------------------


@_rule(
    "studying",
    "studying majoring doing",
    IM + r"(?P<verb>studying|majoring\s+in|doing\s+(?:a|my)\s+(?P<deg>degree|masters?|master's|ph\.?d|"
    r"bachelor'?s?|diploma|mba|doctorate)\s+in)\s+",
)
def _h_studying(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    parts = re.split(r"\s+at\s+", text, maxsplit=1)
    obj = _free_object(parts[0], max_words=5)
    if obj is None:
        return []
    verb = _norm_space(m.group("verb").lower())
    if m.group("deg"):
        verb = f"doing a {m.group('deg')} in"
    out: list[Emit] = [(Category.EDUCATION, f"is {verb} {obj}", EXPLICIT)]
    if len(parts) == 2:
        org = _org(parts[1])
        if org:
            out.append((Category.EMPLOYER, f"studies at {org[0]}", org[1]))
    return out


@_rule("studying_for", "studying", IM + r"studying\s+for\s+(?=(?:the|my|a|an)\s)")
def _h_studying_for(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=6)
    if obj is None or not re.search(r"\b(?:exam|exams|test|bar|boards|mcat|lsat|gre|gmat|sat|act|finals|midterms?|certification|license|licence)\b", obj, re.I):
        return []
    return [(Category.EDUCATION, f"is studying for {obj}", EXPLICIT)]


@_rule("working_on_degree", "working", IM + r"working\s+(?:on|towards?)\s+(?:my|a|an)\s+(?P<deg>degree|bachelor'?s?|master'?s?|masters|ph\.?d|doctorate|diploma|mba)(?:\s+degree)?\s+in\s+")
def _h_working_on_degree(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(re.split(r"\s+at\s+", _cut(rest), maxsplit=1)[0], max_words=5)
    if obj is None:
        return []
    deg = {"masters": "master's", "master": "master's", "bachelor": "bachelor's", "bachelors": "bachelor's"}.get(m.group("deg").lower(), m.group("deg"))
    return [(Category.EDUCATION, f"is doing {_article(deg)} {deg} in {obj}", EXPLICIT)]


@_rule("back_to_school", "school", IMWE + r"going\s+back\s+to\s+(?P<where>school|college|uni|university|grad\s+school)\b")
def _h_back_to_school(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    where = _norm_space(m.group("where").lower())
    tail = ""
    tm = re.match(r"\s+(?:to\s+(?:become|be|study|get)\s+)", rest, re.I)
    if tm:
        obj = _plan_object(rest[tm.start() :].lstrip()[3:], max_words=6)
        if obj:
            tail = f" to {obj}"
    return [(Category.PLAN, f"is going back to {where}{tail}", EXPLICIT)]


@_rule("study", "study", r"\bi\s+" + ADV + r"study\s+")
def _h_study(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    parts = re.split(r"\s+at\s+", text, maxsplit=1)
    obj = _free_object(parts[0], max_words=4)
    if obj is None or obj.split()[0].lower() in {"a", "an", "the", "their", "hard", "for", "with"}:
        return []
    out: list[Emit] = [(Category.EDUCATION, f"studies {obj}", EXPLICIT)]
    if len(parts) == 2:
        org = _org(parts[1])
        if org:
            out.append((Category.EMPLOYER, f"studies at {org[0]}", org[1]))
    return out


@_rule("school_year", "year", IM + r"in\s+my\s+(?P<yr>first|second|third|fourth|final|last|senior|junior|freshman|sophomore)\s+year\s+(?P<prep>of|at)\s+")
def _h_school_year(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=5)
    if obj is None or not (_SCHOOL_RE.search(obj) or re.search(r"\b(?:med|law|nursing|grad|high)\b", obj, re.I)):
        return []
    return [(Category.EDUCATION, f"is in their {m.group('yr').lower()} year {m.group('prep').lower()} {obj}", EXPLICIT)]


@_rule("finished_degree", "degree", r"\bi\s+" + ADV + r"(?:finished|completed|got|earned)\s+(?:my|a|an)\s+(?P<field>[a-z]+(?:\s+[a-z]+)?)\s+degree\b(?!\s+in\b)")
def _h_finished_degree(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    field = m.group("field").lower()
    if field in {"first", "second", "new", "college", "university", "uni", "bachelor's", "master's", "the"}:
        return []
    return [(Category.EDUCATION, f"has {_article(field)} {field} degree", EXPLICIT)]


@_rule("graduated", "graduated", r"\bi\s+" + ADV + r"graduated\s+from\s+")
def _h_graduated(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    org = _org(_cut(rest))
    if org is None:
        return []
    return [(Category.EDUCATION, f"graduated from {org[0]}", EXPLICIT)]


@_rule(
    "degree",
    "degree master's masters master bachelor's bachelors bachelor phd ph mba diploma doctorate",
    r"\bi\s+" + ADV + r"(?:have|got|earned|hold|completed|finished)\s+(?:a|an|my)\s+(?P<deg>degree|"
    r"bachelor'?s?|master'?s?|masters|ph\.?d|doctorate|diploma|mba)(?:\s+degree)?\s+in\s+",
)
def _h_degree(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    parts = re.split(r"\s+(?:from|at)\s+", text, maxsplit=1)
    obj = _free_object(parts[0], max_words=5)
    if obj is None:
        return []
    deg = m.group("deg")
    deg = {"masters": "master's", "master": "master's", "bachelor": "bachelor's", "bachelors": "bachelor's"}.get(deg.lower(), deg)
    return [(Category.EDUCATION, f"has {_article(deg)} {deg} in {obj}", EXPLICIT)]


_SCHOOL_RE = re.compile(r"\b(?:university|college|school|institute|academy|polytechnic|uni)\b|^(?:MIT|UCLA|NYU|USC|Harvard|Yale|Stanford|Princeton|Oxford|Cambridge|Berkeley)$", re.I)


# ---- location -------------------------------------------------------------------------------------


def _place_fact(lead: str, rest: str, conf: float) -> list[Emit]:
    place = _place_object(rest)
    if place is None:
        return []
    return [(Category.LOCATION, f"{lead} {place}", conf)]


@_rule("live_in", "live living reside residing", r"\b(?P<subj>i|we|i'm|im|i\s+am|we're|we\s+are)\s+" + ADV + r"(?:live|living|reside|residing)\s+in\s+")
def _h_live_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = m.group("subj").lower()
    if subj in {"i", "we"} and m.group(0).lower().rstrip().endswith(("living in", "residing in")):
        return []
    return _place_fact("lives in", rest, _subj_conf(m))


@_rule("live_with", "live living", r"\bi\s+" + ADV + r"(?:live|living)\s+(?:alone\s+)?with\s+(?P<poss>my|our)\s+(?P<rel>" + _REL_ALT + r"|partner|roommates?|flatmates?|housemates?)\b(?!['-])")
def _h_live_with(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    rel = m.group("rel").lower()
    category = Category.FAMILY if rel in _REL_SINGULAR or rel in _REL_PLURAL or rel == "parents" else Category.OTHER
    return [(category, f"lives with their {rel}", EXPLICIT)]


@_rule("based_in", "based located", IM + r"(?:based|located)\s+(?:in|out\s+of)\s+")
def _h_based_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _place_fact("lives in", rest, EXPLICIT)


@_rule("have_lived", "lived living", r"\b(?P<subj>i've|ive|i\s+have|we've|we\s+have)\s+" + ADV + r"(?:lived|been\s+living)\s+in\s+")
def _h_have_lived(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None:
        return []
    after = rest[rest.find(place) + len(place) :] if place in rest else ""
    if re.match(r"\s*(?:now\s+)?(?:since|for|my\s+(?:whole|entire)\s+life|all\s+my\s+life)\b", after, re.I):
        return [(Category.LOCATION, f"lives in {place}", _subj_conf(m))]
    return [(Category.LOCATION, f"has lived in {place}", _subj_conf(m, INDIRECT))]


@_rule("used_to_live", "used lived", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:used\s+to\s+live|lived)\s+in\s+")
def _h_used_to_live(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = EXPLICIT if "used" in m.group(0).lower() else INDIRECT
    return _place_fact("used to live in", rest, _subj_conf(m, conf))


_SUBJ_GREW = (
    r"(?:\b(?P<subj>i|we)\s+|\bmy\s+(?P<rel>" + _REL_ALT + r")(?:\s+(?-i:[A-Z]\w+))?\s+and\s+i\s+|(?P<ellip>^))"
)


@_rule("grew_up", "grew raised brought", _SUBJ_GREW + ADV + r"(?:grew\s+up|was\s+raised|were\s+raised|was\s+brought\s+up|born\s+and\s+raised|was\s+born\s+and\s+raised)\s+in\s+")
def _h_grew_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if m.group("ellip") is not None and m.group("subj") is None and m.group("rel") is None:
        conf = INDIRECT
    elif m.group("rel") or (m.group("subj") or "").lower() == "we":
        conf = INDIRECT
    else:
        conf = EXPLICIT
    return _place_fact("grew up in", rest, conf)


@_rule("born_raised", "raised grew", r"(?:\bi\s+was\s+|^)born\s+in\s+[^,.;!?]{2,40}?\s*,?\s+(?:but|and)\s+(?:i\s+)?(?:was\s+)?(?:raised|grew\s+up)\s+in\s+")
def _h_born_raised(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _place_fact("grew up in", rest, EXPLICIT if m.group(0).lower().startswith("i") else INDIRECT)


@_rule("born_in", "born", r"(?:\b(?P<subj>i|we)\s+" + ADV + r"(?:was|were)\s+|^)born\s+in\s+")
def _h_born_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = _subj_conf(m) if m.group("subj") else INDIRECT
    return _place_fact("was born in", rest, conf)


@_rule("from", "from", r"\b(?:(?:i'm|im|i\s+am)\s+" + ADV + r"(?:originally\s+)?from|i\s+" + ADV + r"(?:originally\s+)?come\s+from)\s+")
def _h_from(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if re.match(r"\s*(?:a|an)\s", rest):
        return []
    return _place_fact("is from", rest, EXPLICIT)


@_rule("moved", "moved relocated", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:moved|relocated)\s+(?:here\s+|back\s+|over\s+)?(?P<dir>to|from)\s+")
def _h_moved(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    lead = "moved to" if m.group("dir").lower() == "to" else "moved from"
    return _place_fact(lead, rest, _subj_conf(m, INDIRECT))


@_rule("bought_home", "bought purchased", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:bought|purchased)\s+(?:a|an|our|my)\s+(?:first\s+|new\s+|little\s+|dream\s+)?(?P<what>house|home|condo|apartment|flat|place)\s+in\s+")
def _h_bought_home(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None:
        return []
    what = m.group("what").lower()
    return [(Category.LOCATION, f"bought {_article(what)} {what} in {place}", _subj_conf(m))]


@_rule("je_vis", "je j'habite", r"\b(?:je\s+(?:vis|demeure|réside)|j'habite)\s+(?:à|a|au|aux|en|dans)\s+")
def _h_je_vis(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _place_fact("lives in", rest, EXPLICIT)


# ---- travel ---------------------------------------------------------------------------------------

_TRAVEL_TIME_AFTER_RE = re.compile(
    r"\s*(?:last|this past|in|back in|over|during|for|on)\s+(?:year|summer|spring|fall|autumn|winter|"
    r"month|week|weekend|(?:19|20)\d\d|vacation|holiday|holidays|a (?:week|trip|holiday|vacation)|"
    r"our honeymoon|my honeymoon|business|work|christmas|easter|new year)",
    re.I,
)


_TRAVEL_WORDS_RE = re.compile(
    r"\b(?:trip|travel\w*|flight|flew|fly|flying|vacation|holiday|honeymoon|abroad|tour|touring|"
    r"backpacking|sightseeing|visa|passport|jet ?lag)\b",
    re.I,
)


def _travel(rest: str, conf: float, ctx: _Ctx) -> list[Emit]:
    place = _place_object(rest)
    if place is None or _SCHOOL_RE.search(place):
        return []
    if place.split()[0].lower() in _REL_SINGULAR or place.lower() in _REL_PLURAL:
        return []
    if not _is_known_place(place):
        # Could be a shop, a person or a venue ("I went to Costco", "I visited Sarah").
        after = rest.split(place, 1)[1] if place in rest else ""
        if not (_TRAVEL_TIME_AFTER_RE.match(after) or _TRAVEL_WORDS_RE.search(ctx.sentence)):
            return []
    out: list[Emit] = [(Category.TRAVEL, f"visited {place}", conf)]
    # "I've been to Paris, Rome and London"
    tail = (rest.split(place, 1)[1] if place in rest else "")[:120]
    for _ in range(6):
        lm = _PLACE_LIST_RE.match(tail)
        if lm is None:
            break
        more = _place_object(lm.group(1))
        if more is None or not _is_known_place(more):
            break
        out.append((Category.TRAVEL, f"visited {more}", conf))
        tail = tail[lm.end() :]
    return out


_PLACE_LIST_RE = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+)((?-i:[A-Z])[\w'.\u2024-]*(?:\s+(?-i:[A-Z])[\w'.\u2024-]*)?)")


@_rule("visited", "visited", IWE + r"visited\s+")
def _h_visited(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _travel(rest, _subj_conf(m), ctx)


@_rule(
    "went_to",
    "went traveled travelled flew drove took",
    r"(?:\b(?P<subj>i|we)\s+" + ADV + r"|^(?:just\s+|also\s+)?)(?:went|traveled|travelled|flew|drove|took\s+a\s+trip|went\s+on\s+a\s+trip)\s+(?:back\s+)?to\s+",
)
def _h_went_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = _subj_conf(m, INDIRECT) if m.group("subj") else INDIRECT
    return _travel(rest, conf, ctx)


@_rule("been_to", "been traveled travelled", r"(?:\b(?P<subj>i've|ive|i\s+have|we've|we\s+have)\s+" + ADV + r"|^|[.!]\s*)(?:been|traveled|travelled)\s+(?:only\s+)?to\s+")
def _h_been_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = m.group("subj")
    conf = INDIRECT if subj is None or subj.lower().startswith("we") else EXPLICIT
    return _travel(rest, conf, ctx)


@_rule("back_from", "back returned", r"(?:\b(?P<subj>i|we)\s+" + ADV + r"(?:got|came|am|'m|are|'re)?\s*|\b(?:i'm|im|we're)\s+|^(?:just\s+)?)(?:got\s+back|came\s+back|back|returned)\s+from\s+")
def _h_back_from(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = (m.group("subj") or "i").lower()
    return _travel(rest, EXPLICIT if subj == "i" else INDIRECT, ctx)


@_rule("in_place_for", "in", IMWE + r"(?:currently\s+|now\s+)?in\s+(?=(?-i:[A-Z]))")
def _h_in_place_for(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None or not _is_known_place(place):
        return []
    after = rest.split(place, 1)[1]
    if not re.match(r"\s*(?:right\s+now\s+|this\s+week\s+|for\s+the\s+week\s+|at\s+the\s+moment\s+)?(?:for\s+(?:work|a\s+conference|business|a\s+wedding|vacation|holiday|a\s+(?:few\s+days|week))|on\s+(?:vacation|holiday|a\s+trip|business))\b", after, re.I):
        return []
    return [(Category.TRAVEL, f"is visiting {place}", _subj_conf(m, INDIRECT))]


@_rule("visiting", "visiting", IMWE + r"visiting\s+")
def _h_visiting(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None or not _is_known_place(place):
        return []
    return [(Category.TRAVEL, f"is visiting {place}", _subj_conf(m))]


# ---- plans ----------------------------------------------------------------------------------------


def _plan_object(rest: str, max_words: int = 12) -> str | None:
    return _free_object(rest, trim_time=False, max_words=max_words)


@_rule("planning_to", "planning plan", r"(?:" + IMWE + r"planning|\b(?P<subj2>i|we)\s+" + ADV + r"plan)\s+to\s+")
def _h_planning_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest)
    if obj is None or obj.split()[0].lower() in {"a", "an", "the"}:
        return []
    subj = (m.group("subj") or m.group("subj2") or "i").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    return [(Category.PLAN, f"plans to {obj}", conf)]


@_rule("planning_a", "planning", IMWE + r"planning\s+(?P<det>a|an|my|our)\s+")
def _h_planning_a(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest)
    if obj is None:
        return []
    det = _swap_pronouns(m.group("det").lower())
    subj = m.group("subj").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    return [(Category.PLAN, f"is planning {det} {obj}", conf)]


@_rule(
    "going_to_place",
    "flying going heading headed travelling traveling driving moving relocating off",
    IMWE + r"(?P<verb>flying|going|heading|headed|travelling|traveling|driving|moving|relocating|off)\s+(?:back\s+|out\s+|over\s+|down\s+|up\s+)?to\s+",
)
def _h_going_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    stripped = rest.lstrip()
    if not stripped[:1].isupper() or stripped.split()[0] in {"I", "I'm"}:
        return []
    if stripped.split()[0].rstrip(",.!").lower() in _NOT_NAMES:
        return []
    obj = _plan_object(rest)
    if obj is None or _SCHOOL_RE.search(obj) and m.group("verb").lower() == "going":
        return []
    verb = m.group("verb").lower()
    if verb in {"going", "heading", "headed", "off"}:
        place = _place_object(rest)
        if place is None or not (_is_known_place(place) or _TRAVEL_WORDS_RE.search(ctx.sentence)):
            return []
    verb = {"headed": "heading", "travelling": "travelling", "off": "off"}.get(verb, verb)
    subj = m.group("subj").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    out: list[Emit] = [(Category.PLAN, f"is {verb} to {obj}", conf)]
    return out


_EVENT_NOUNS = frozenset(
    """
    conference concert wedding festival party show game match workshop retreat meetup convention
    gig recital tournament race marathon half-marathon 10k 5k competition exhibition expo fair
    summit camp reunion parade
    """.split()
)


@_rule("going_to_event", "going heading attending", IMWE + r"(?:going|heading)\s+to\s+(?=(?:a|an|my|our)\s)|" + IMWE.replace("subj", "subj_b") + r"attending\s+(?=(?:a|an|my|our)\s)")
def _h_going_to_event(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=9)
    if obj is None:
        return []
    words = _TRAIL_TIME_RE.sub("", obj).split()
    if not any(w.lower().strip(",.") in _EVENT_NOUNS for w in words[1:]):
        return []
    subj = (m.group("subj") or m.group("subj_b") or "i").lower()
    return [(Category.PLAN, f"is going to {obj}", INDIRECT if subj.startswith("we") else EXPLICIT)]


@_rule("will_be_in", "be", r"\b(?P<subj>i'll|ill|i\s+will|we'll|we\s+will)\s+" + ADV + r"be\s+(?:in|visiting)\s+")
def _h_will_be_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    stripped = rest.lstrip()
    if not stripped[:1].isupper() or stripped.split()[0] in {"I", "I'm"}:
        return []
    place = _place_object(rest)
    if place is None:
        return []
    obj = _plan_object(rest)
    if obj is None:
        return []
    conf = EXPLICIT if m.group("subj").lower().startswith("i") else INDIRECT
    return [(Category.PLAN, f"will be in {obj}", conf)]


@_rule(
    "plan_misc",
    "training preparing ready saving applying married baby expecting opening launching switching retiring starting",
    IMWE + r"(?P<what>training\s+for|preparing\s+for|getting\s+ready\s+for|saving\s+(?:up\s+)?for|applying\s+(?:to|for)|getting\s+married|"
    r"expecting\s+(?:a\s+baby|twins|a\s+boy|a\s+girl|(?:our|my)\s+first(?:\s+(?:baby|child))?)|having\s+a\s+baby|opening|launching|switching\s+to|retiring|starting)\b\s*",
)
def _h_plan_misc(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = _norm_space(m.group("what").lower())
    subj = m.group("subj").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    if what in {"getting married", "having a baby", "retiring"} or what.startswith("expecting"):
        what = _swap_pronouns(what)
        tail = _tidy(_cut(rest), trim_time=False) if re.match(r"\s*(?:in|on|next|this|soon)\b", rest, re.I) else None
        if tail and (len(tail.split()) > 5 or _YOU_RE.search(tail)):
            tail = None
        return [(Category.PLAN, f"is {what}" + (f" {tail}" if tail else ""), conf)]
    obj = _plan_object(rest)
    if obj is None:
        return []
    if what == "starting":
        if obj.split()[0].lower() not in {"a", "an", "their"}:
            return []  # "I'm starting to feel better"
        if re.match(r"(?:a|an|their)\s+(?:new\s+)?job\b", obj, re.I):
            return []  # handled by the new-job rule
    if what == "opening" and not any(w.lower().strip(",.") in _BUSINESS_NOUNS for w in obj.split()):
        return []
    if what == "switching to" and len(obj.split()) < 2:
        return []
    return [(Category.PLAN, f"is {what} {obj}", conf)]


@_rule("goal", "goal", r"(?:\b(?:my|our)\s+|^)(?:main\s+|big\s+|new\s+)?goal\s+(?:is|this\s+year\s+is|for\s+\S+\s+is)\s+(?P<to>to\s+)?")
def _h_goal(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest)
    if obj is None:
        return []
    conf = EXPLICIT if m.group(0).lower().lstrip().startswith("my") else INDIRECT
    return [(Category.PLAN, f"goal is {'to ' if m.group('to') else ''}{obj}", conf)]


_WANT_SKIP = frozenset(
    """
    thank know say hear see ask tell share make check try go get do keep help remind let add give
    show talk chat vent cry sleep eat read hug have feel find look hang catch come stop sit take
    send post update hear stay celebrate express mention apologize apologise spend enjoy pay
    """.split()
)


_WANT_GOALS = frozenset(
    """
    learn become be start open run visit travel move buy adopt build write create study join retire
    volunteer apply work lose finish complete compete pursue launch teach see go try take get
    explore climb hike swim train switch quit save publish record perform direct found
    """.split()
)


@_rule("want_to", "want wanna", IWE + r"(?:want|wanna)\s+(?:to\s+)?(?=\w)")
def _h_want_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if "wanna" not in m.group(0).lower() and not m.group(0).lower().rstrip().endswith("to"):
        return []
    obj = _plan_object(rest, max_words=10)
    if obj is None:
        return []
    words = obj.split()
    verb = words[0].lower()
    if len(words) < 2 or verb not in _WANT_GOALS:
        return []
    if verb in {"see", "go", "visit", "travel"} and not any(w[:1].isupper() for w in words[1:]):
        return []  # "want to see Kyoto" is a goal; "want to see the castle" is not worth keeping
    if verb == "get" and words[1].lower() not in {"a", "an", "into", "married", "fit", "certified", "stronger", "better"}:
        return []
    if verb == "take" and words[1].lower() not in {"up", "a", "an"}:
        return []
    if verb == "try" and not any(w.lower() in {"out", "climbing", "bouldering", "surfing", "yoga", "pottery"} or _is_gerund(w) for w in words[1:2]):
        return []
    if verb in {"be", "become"} and not (len(words) >= 3 and words[-1].lower() in _JOB_HEADS | _AMBIGUOUS_JOB_HEADS | set(_STATUS_HEADS) | {"mom", "dad", "mother", "father", "parent"}):
        return []
    return [(Category.PLAN, f"wants to {obj}", _subj_conf(m, WEAK))]


@_rule("signed_up", "signed registered enrolled", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:signed\s+up|registered|enrolled)\s+(?P<prep>for|in)\s+")
def _h_signed_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=10)
    if obj is None:
        return []
    return [(Category.PLAN, f"signed up for {obj}", _subj_conf(m))]


@_rule("considering", "thinking considering", IMWE + r"(?:thinking\s+(?:about|of)|considering)\s+(?=\w+ing\b)")
def _h_considering(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=10)
    if obj is None or not obj.split()[0].lower().endswith("ing") or obj.split()[0].lower() in {"doing", "going", "getting", "trying", "having", "being"} and len(obj.split()) < 3:
        return []
    return [(Category.PLAN, f"is considering {obj}", HEDGED_WEAK)]


@_rule("going_on_trip", "trip vacation holiday cruise honeymoon", IMWE + r"(?:going|heading|leaving)\s+on\s+(?P<obj>(?:a|an|our|my)\s+(?:\w+\s+)?(?:trip|vacation|holiday|cruise|honeymoon|road\s+trip))\b")
def _h_going_on_trip(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(m.group("obj") + rest)
    if obj is None:
        return []
    subj = m.group("subj").lower()
    return [(Category.PLAN, f"is going on {obj}", INDIRECT if subj.startswith("we") else EXPLICIT)]


# ---- pets -----------------------------------------------------------------------------------------

_PET_ADJ = r"(?:(?:own|old|new|little|sweet|senior|baby|rescue|pet|beloved|lovely|crazy|silly|fat|lazy|big|tiny|adorable|grumpy|\d+[- ]year[- ]old|two|three|four)\s+)*"
_DEAD_RE = re.compile(r"\b(?:died|passed|put down|put to sleep|lost (?:my|our)|rip|rest in peace|miss (?:my|our)|late)\b", re.I)


def _pet_name(rest: str) -> str | None:
    nm = _NAMES_LIST_RE.match(rest)
    if nm:
        a, b = nm.group(1), nm.group(2)
        if a.lower() not in _NOT_NAMES and b.lower() not in _NOT_NAMES:
            return f"{a} and {b}"
    return _name_at(rest)


def _species_ok(species: str, rest: str) -> bool:
    nxt = rest.lstrip(" ,").split(" ", 1)[0].lower().strip(",.!?")
    return nxt not in _PET_NOT_FOLLOWED and not rest.startswith("-")


@_rule("my_pet", "my our", r"\b(?P<poss>my|our)\s+" + _PET_ADJ + r"(?P<species>" + _SPECIES + r")\b(?P<named>\s+(?:named|called|is\s+named|is\s+called|are\s+named|are\s+called)\b|['\u2019]s\s+names?\s+(?:is|are)\b)?")
def _h_my_pet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    species = m.group("species").lower()
    if not _species_ok(species, rest):
        return []
    if _DEAD_RE.search(ctx.sentence):
        return []
    name = _pet_name(rest)
    conf = EXPLICIT if m.group("poss").lower() == "my" else INDIRECT
    plural = species.endswith("s") and species not in {"fish", "goldfish"} or species in {"mice", "kitties", "puppies", "bunnies", "ponies", "huskies"}
    number = next((w for w in m.group(0).lower().split() if w in {"two", "three", "four"}), None)
    if plural and number:
        species = f"{number} {species}"
    if name:
        if " and " in name:
            return [(Category.PET, f"has {species} named {name}", conf)]
        if plural:
            return []
        return [(Category.PET, f"has {_article(species)} {species} named {name}", conf)]
    if m.group("named") or not _HOUSEHOLD_PETS.match(m.group("species").lower()):
        return []
    if plural:
        return [(Category.PET, f"has {species}", INDIRECT)]
    return [(Category.PET, f"has {_article(species)} {species}", INDIRECT)]


@_rule(
    "have_pet",
    "have got adopted rescued own bought brought",
    r"\b(?P<subj>i|we)(?:\s+|(?='ve\s))" + ADV + r"(?:have|have\s+got|'ve\s+got|got|adopted|rescued|own|bought|brought\s+home)\s+(?P<num>a|an|another|one|"
    + _NUMBER_WORDS + r"|\d+)\s+(?P<adj>(?:[a-z\-]+\s+){0,2}?)(?P<species>" + _SPECIES + r")\b(?P<named>\s+(?:named|called)\b)?",
)
def _h_have_pet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    species = m.group("species").lower()
    if not _species_ok(species, rest) or _DEAD_RE.search(ctx.sentence):
        return []
    adj = m.group("adj").strip().lower()
    if adj and any(a in _PET_ADJ_SKIP for a in adj.split()):
        return []
    num = m.group("num").lower()
    conf = _subj_conf(m)
    noun = species if not adj else f"{adj} {species}"
    if num in {"a", "an", "one", "another"}:
        noun_phrase = f"{_article(noun)} {noun}"
    else:
        noun_phrase = f"{num} {noun}"
    if m.group("named"):
        name = _pet_name(rest)
        if not name:
            return []
        return [(Category.PET, f"has {noun_phrase} named {name}", conf)]
    # "we've got a dog and a cat": one statement, one fact ("has a dog and a cat")
    more = _more_pets(rest, first_plural=num not in {"a", "an", "one", "another"})
    if more:
        items = [noun_phrase, *more]
        return [(Category.PET, f"has {', '.join(items[:-1])} and {items[-1]}", conf)]
    out: list[Emit] = [(Category.PET, f"has {noun_phrase}", conf)]
    # "I've got two dogs, a beagle named Rufus and a lab named Daisy"
    for lm in _PET_LIST_ITEM_RE.finditer(rest[:160]):
        name = _name_at(lm.group("name"))
        if name:
            sp = lm.group("species").lower()
            out.append((Category.PET, f"has {_article(sp)} {sp} named {name}", conf))
    return out


def _more_pets(rest: str, *, first_plural: bool) -> list[str]:
    """The further pets of a coordinated list right after the first one (", a cat and a rabbit").

    Empty unless the whole list is understood: every item a plain pet (no name, no "dog walker",
    no "toy cat") and the list closed by "and"/"&". After a plural a comma opens an apposition
    ("two dogs, a beagle and a lab" is two animals), not a list.
    """
    more: list[str] = []
    pos = 0
    while len(more) < 4:
        cm = _PET_AND_RE.match(rest, pos)
        if cm is None:
            return []
        if not more and first_plural and "," in cm.group("sep"):
            return []
        sp = cm.group("species").lower()
        adj = cm.group("adj").strip().lower()
        if cm.group("named") or not _species_ok(sp, rest[cm.end() :]) or any(a in _PET_ADJ_SKIP for a in adj.split()):
            return []
        num = cm.group("num").lower()
        noun = f"{adj} {sp}" if adj else sp
        more.append(f"{_article(noun)} {noun}" if num in {"a", "an", "one", "another"} else f"{num} {noun}")
        pos = cm.end()
        if cm.group("sep").strip(" ,").lower() in {"and", "&"}:
            return more
    return []


_PET_ADJ_SKIP = frozenset({"stuffed", "toy", "plush", "fake", "robot", "lot", "few"})
_PET_AND_RE = re.compile(
    r"(?P<sep>\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+)(?P<num>a|an|one|another|" + _NUMBER_WORDS
    + r"|\d+)\s+(?P<adj>(?:[a-z\-]+\s+){0,2}?)(?P<species>" + _SPECIES + r")\b(?P<named>\s+(?:named|called)\b)?",
    re.I,
)
_PET_LIST_ITEM_RE = re.compile(
    r"(?:^|,|\band\b|:)\s*(?:a|an|one)\s+(?P<species>" + _SPECIES + r")\s+(?:named|called)\s+(?P<name>(?-i:[A-Z][a-zà-ÿ'\-]+))",
    re.I,
)


# ---- family ---------------------------------------------------------------------------------------


def _rel_phrase(adjs: str, rel: str) -> tuple[str, bool]:
    kept = [a for a in adjs.lower().split() if a in _REL_KEEP_ADJ]
    nums = [a for a in adjs.lower().split() if a in {"two", "three", "four"}]
    rel = rel.lower()
    plural = rel in _REL_PLURAL
    noun = " ".join([*kept, rel])
    if plural:
        return (f"{nums[0]} {noun}" if nums else noun), True
    return f"{_article(noun)} {noun}", False


@_rule(
    "my_relative",
    "my our",
    r"\b(?P<poss>my|our)\s+(?P<adjs>" + _REL_ADJ + r")(?P<rel>" + _REL_ALT + r")\b(?![\-])(?:(?P<named>['\u2019]s\s+name\s+is\b|\s+is\s+(?:named|called)\b)|(?P<poss_s>['\u2019]s\b))?",
)
def _h_my_relative(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    rel = m.group("rel").lower().replace(" ", "-")
    phrase, plural = _rel_phrase(m.group("adjs"), rel)
    conf = EXPLICIT if m.group("poss").lower() == "my" else INDIRECT
    if rel in {"kid", "kids", "baby", "child", "children"} and m.group("poss").lower() == "my" and re.search(r"\b(?:students?|class|teach|daycare|nursery)\b", ctx.sentence, re.I):
        return []
    out: list[Emit] = []
    name = None
    if m.group("named"):
        name = _name_at(rest)
        if name and not plural:
            return [(Category.FAMILY, f"has {phrase} named {name}", conf)]
        return []
    if not m.group("poss_s"):
        if plural:
            nm = _NAMES_LIST_RE.match(rest)
            if nm and nm.group(1).lower() not in _NOT_NAMES and nm.group(2).lower() not in _NOT_NAMES:
                name = f"{nm.group(1)} and {nm.group(2)}"
        else:
            name = _name_at(rest)
    if name:
        out.append((Category.FAMILY, f"has {phrase} named {name}", conf))
    # "my sister lives in Lyon", "my sister called today, she lives in Lyon"
    if not plural:
        pron = _REL_SINGULAR.get(rel)
        tail = rest
        if name:
            tail = rest.split(name, 1)[1] if name in rest else rest
        lm = _REL_LIVES_RE.match(tail)
        if lm is None and pron:
            cm = re.search(r",\s*(?:and\s+)?" + pron + r"\s+(?:lives|'s\s+living|is\s+living|now\s+lives)\s+in\s+", tail, re.I)
            if cm and not re.search(r"\bmy\s+(?:" + _REL_ALT + r")\b", tail[: cm.start()], re.I):
                lm = cm
        if lm is not None:
            place = _place_object(tail[lm.end() :])
            if place:
                out.append((Category.FAMILY, f"has {phrase} who lives in {place}", conf if lm.re is _REL_LIVES_RE else INDIRECT))
        wm = re.match(r"\s+works\s+(?:at|for)\s+", tail, re.I)
        if wm:
            org = _org(_cut(tail[wm.end() :]))
            if org and org[0][:1].isupper():
                out.append((Category.FAMILY, f"has {phrase} who works at {org[0]}", min(conf, org[1])))
        jm = _REL_JOB_RE.match(tail)
        if jm is not None:
            for cat, fact, c in _job_and_org(tail[jm.end() :], conf, need_lexicon=jm.group("lex") is not None):
                if cat in (Category.OCCUPATION, Category.EMPLOYER) and fact.startswith("works "):
                    out.append((Category.FAMILY, f"has {phrase} who {fact}", min(c, conf)))
    if out:
        return out
    if rel in _REL_TRIVIAL or m.group("adjs").strip().lower() in {"late"}:
        return []
    if _DEAD_RE.search(ctx.sentence) and rel not in {"kids", "children"}:
        return []
    return [(Category.FAMILY, f"has {phrase}", INDIRECT if rel not in {"kids", "kid", "child", "children", "baby"} else WEAK)]


_REL_LIVES_RE = re.compile(r"\s*,?\s+(?:who\s+)?(?:still\s+|now\s+|also\s+)?(?:lives|is\s+living)\s+in\s+", re.I)
_REL_JOB_RE = re.compile(r"\s+(?:works\s+as\s+(?:a|an)\s+|(?P<lex>is\s+(?:a|an)\s+))(?=\w)", re.I)


@_rule("name_my_rel", "my", r"(?-i:\b(?P<name>[A-Z][a-z]+)),\s+my\s+(?P<adjs>" + _REL_ADJ + r")(?P<rel>" + _REL_ALT + r")(?=\s*(?:,|\.|!|$))", check_context=False)
def _h_name_my_rel(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = m.group("name")
    rel = m.group("rel").lower()
    if name.lower() in _NOT_NAMES or rel in _REL_PLURAL or _is_known_place(name) or name.lower().endswith("ly"):
        return []
    if _name_at(rest) is not None:
        return []  # "Osaka, my girlfriend Priya": the name is the one after the relation
    phrase, _ = _rel_phrase(m.group("adjs"), rel)
    return [(Category.FAMILY, f"has {phrase} named {name}", EXPLICIT)]


@_rule("name_my_pet", "my", r"(?-i:\b(?P<name>[A-Z][a-z]+)),\s+my\s+" + _PET_ADJ + r"(?P<species>" + _SPECIES + r")(?=\s*(?:,|\.|!|$))", check_context=False)
def _h_name_my_pet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = m.group("name")
    species = m.group("species").lower()
    if name.lower() in _NOT_NAMES or name.lower().endswith("ly") or _is_known_place(name) or species.endswith("s"):
        return []
    if _DEAD_RE.search(ctx.sentence):
        return []
    return [(Category.PET, f"has {_article(species)} {species} named {name}", EXPLICIT)]


@_rule("name_is_my", "my", r"(?-i:\b(?P<name>[A-Z][a-z]+))\s+is\s+my\s+(?P<adjs>" + _REL_ADJ + r")(?P<what>" + _REL_ALT + r"|" + _SPECIES + r")(?=\s*(?:[,.!;]|$))")
def _h_name_is_my(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = m.group("name")
    what = m.group("what").lower()
    if name.lower() in _NOT_NAMES or _is_known_place(name) or what in _REL_PLURAL or what.endswith("s") and what not in _REL_SINGULAR:
        return []
    if what in _REL_SINGULAR:
        phrase, _ = _rel_phrase(m.group("adjs"), what)
        return [(Category.FAMILY, f"has {phrase} named {name}", EXPLICIT)]
    if _DEAD_RE.search(ctx.sentence):
        return []
    return [(Category.PET, f"has {_article(what)} {what} named {name}", EXPLICIT)]


@_rule(
    "have_kids",
    "have got",
    IWE + r"(?:have|have\s+got|'ve\s+got)\s+(?P<num>a|an|one|" + _NUMBER_WORDS + r"|\d+|twins|triplets)\b\s*(?P<adjs>(?:(?:little|young|grown|adult|teenage|beautiful|wonderful|amazing|older|younger|baby|big|twin|lovely)\s+)*)(?P<rel>" + _REL_ALT + r")?\b(?P<named>\s+(?:named|called)\b)?",
)
def _h_have_kids(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    num = m.group("num").lower()
    rel = (m.group("rel") or "").lower()
    if num in {"twins", "triplets"}:
        if rel:
            return []
        return [(Category.FAMILY, f"has {num}", _subj_conf(m))]
    if not rel or rel in _REL_TRIVIAL:
        return []
    plural = rel in _REL_PLURAL
    if plural == (num in {"a", "an", "one"}):
        return []
    adjs = [a for a in m.group("adjs").lower().split() if a in _REL_KEEP_ADJ]
    noun = " ".join([*adjs, rel])
    phrase = f"{_article(noun)} {noun}" if num in {"a", "an", "one"} else f"{num} {noun}"
    if num in {"a couple of", "a few", "several"}:
        return []
    if m.group("named"):
        name = _pet_name(rest)
        if not name:
            return []
        return [(Category.FAMILY, f"has {phrase} named {name}", _subj_conf(m))]
    nm = _NAMES_LIST_RE.match(rest)
    if plural and nm and nm.group(1).lower() not in _NOT_NAMES and nm.group(2).lower() not in _NOT_NAMES:
        return [(Category.FAMILY, f"has {phrase} named {nm.group(1)} and {nm.group(2)}", _subj_conf(m))]
    lm = _REL_LIVES_RE.match(rest)
    if lm and not plural:
        place = _place_object(rest[lm.end() :])
        if place:
            return [(Category.FAMILY, f"has {phrase} who lives in {place}", _subj_conf(m))]
    return [(Category.FAMILY, f"has {phrase}", _subj_conf(m))]


@_rule(
    "marital",
    "married engaged divorced widowed widow widower single separated child",
    IM + r"(?P<status>married|engaged|divorced|widowed|a\s+widow(?:er)?|single|separated|an\s+only\s+child)\b(?![-'])(?P<to>\s+to\s+)?",
)
def _h_marital(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    status = _norm_space(m.group("status").lower())
    if status.startswith("a widow"):
        status = "widowed"
    if status == "single" and re.match(r"\s*(?:mom|mum|dad|mother|father|parent)", rest, re.I):
        return []
    if m.group("to") and status in {"married", "engaged"}:
        name = _name_at(rest)
        if name:
            return [(Category.FAMILY, f"is {status} to {name}", EXPLICIT)]
    return [(Category.FAMILY, f"is {status}", EXPLICIT)]


@_rule("got_married", "married engaged", r"\b(?P<subj>i|we)\s+" + ADV + r"got\s+(?P<what>married|engaged)\b")
def _h_got_married(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.FAMILY, f"is {m.group('what').lower()}", _subj_conf(m))]


@_rule("adopted_child", "adopted", r"\b(?P<subj>i|we)\s+" + ADV + r"adopted\s+(?P<obj>(?:a|an|our|my)\s+(?:little\s+|baby\s+)?(?:girl|boy|son|daughter|child|kid|baby))\b")
def _h_adopted_child(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _swap_pronouns(_norm_space(m.group("obj").lower()))
    return [(Category.FAMILY, f"adopted {obj}", _subj_conf(m))]


@_rule("been_married", "married", r"\b(?P<subj>i've|ive|i\s+have|we've|we\s+have)\s+" + ADV + r"been\s+(?:happily\s+)?married\b")
def _h_been_married(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.FAMILY, "is married", _subj_conf(m))]


@_rule(
    "parent_of",
    "mom mum mother dad father parent grandmother grandfather grandma grandpa grandparent",
    IM + r"(?:a|an)\s+(?P<adj>(?:single|proud|stay[- ]at[- ]home|working|new|first[- ]time)\s+)?(?P<role>mom|mum|mother|dad|father|parent|grandmother|grandfather|grandma|grandpa|grandparent)\b(?!-)(?:\s+(?:of|to)\s+(?P<n>" + _NUMBER_WORDS + r"|\d+|twins)\b)?",
)
def _h_parent_of(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    adj = (m.group("adj") or "").strip().lower()
    adj = "" if adj == "proud" else adj
    noun = " ".join(x for x in [adj, m.group("role").lower()] if x)
    fact = f"is {_article(noun)} {noun}"
    if m.group("n"):
        fact += f" of {m.group('n').lower()}"
    return [(Category.FAMILY, fact, EXPLICIT)]


# ---- hobbies --------------------------------------------------------------------------------------

_GERUND_NOT = frozenset(
    """
    thing something nothing anything everything morning evening king ring spring wedding ceiling
    clothing pudding string sibling darling feeling being having getting seeing hearing knowing
    watching talking chatting doing going coming making trying sharing chatting meeting helping
    spending taking giving living working listening reading learning sitting thinking looking
    finding telling saying
    """.split()
)
_HOBBY_GERUND_OK = frozenset("reading learning watching making listening working".split())
_HOBBY_GERUNDS = frozenset(
    """
    running jogging swimming painting drawing sketching knitting crocheting sewing quilting baking
    cooking climbing bouldering hiking cycling biking dancing singing writing journaling meditating
    gardening playing practicing practising lifting boxing skating surfing skiing snowboarding
    reading photographing fishing camping kayaking sailing rowing birdwatching woodworking
    volunteering learning studying tutoring coaching pottery yoga gaming blogging vlogging
    podcasting collecting brewing fermenting foraging golfing bowling fencing skateboarding
    """.split()
)


def _is_gerund(word: str) -> bool:
    w = word.lower().strip(",.!?")
    return len(w) > 4 and w.endswith("ing") and w not in _GERUND_NOT


@_rule(
    "love_like",
    "love loves adore enjoy like prefer hate dislike detest loathe stand live",
    r"\b(?P<subj>i|we)\s+" + ADV + r"(?P<verb>love|loves|adore|enjoy|like|prefer|hate|dislike|detest|loathe|"
    r"can't\s+stand|cannot\s+stand|can't\s+live\s+without)\s+(?!(?:it|that|this|you|how|what|when|"
    r"seeing|hearing|having|getting|being|knowing|talking|chatting|sharing)\b)",
)
def _h_love_like(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = _norm_space(m.group("verb").lower())
    conf = _subj_conf(m)
    if verb in {"like", "prefer"}:
        conf = min(conf, INDIRECT) if verb == "prefer" else conf
    stripped = rest.lstrip()
    if re.match(r"to\s+\w", stripped, re.I):
        if verb not in {"love", "like", "enjoy", "adore", "hate"}:
            return []
        obj = _free_object(stripped[3:], max_words=6)
        if obj is None:
            return []
        ow = obj.split()
        if ow[0].lower() in _WANT_SKIP and not (ow[0].lower() == "go" and len(ow) > 1 and ow[1].lower() in _HOBBY_GERUNDS):
            return []
        if ow[0].lower() == "go":
            obj = re.split(r"\s+(?:in|on|at|with|every)\s+", obj, maxsplit=1)[0]
        return [(Category.HOBBY if verb != "hate" else Category.PREFERENCE, f"{_third_person(verb)} to {obj}", conf)]
    obj = _free_object(rest, max_words=7)
    if obj is None:
        return []
    words = obj.split()
    first = words[0].lower()
    if first in {"the", "a", "an"} and len(words) > 1 and not words[1][:1].isupper():
        return []  # "I love the colours" -- about something in the chat, not a lasting preference
    if first in {"their", "them"} and len(words) == 1:
        return []
    if first in {"their"} and words[-1].lower() in {"job", "family", "life", "kids", "work", "friends", "husband", "wife", "team", "students", "fam"}:
        return []  # true but not worth a memory slot
    if _is_gerund(first) or first in _HOBBY_GERUND_OK and len(words) > 1:
        if verb in {"love", "enjoy", "adore", "like"}:
            if first in {"working", "living", "being"}:
                return []
            return [(Category.HOBBY, f"enjoys {obj}", conf)]
        lead = {"can't stand": "can't stand", "cannot stand": "can't stand"}.get(verb, _third_person(verb))
        return [(Category.PREFERENCE, f"{lead} {obj}", conf)]
    lead = {
        "love": "loves",
        "adore": "loves",
        "enjoy": "enjoys",
        "like": "likes",
        "prefer": "prefers",
        "hate": "hates",
        "dislike": "dislikes",
        "detest": "hates",
        "loathe": "hates",
        "can't stand": "can't stand",
        "cannot stand": "can't stand",
        "can't live without": "can't live without",
    }[verb]
    return [(Category.PREFERENCE, f"{lead} {obj}", conf)]


@_rule("dont_like", "don't dont not never", r"\bi\s+(?P<neg>don't|dont|do\s+not|never)\s+(?:really\s+)?(?P<verb>eat|drink|like|enjoy|smoke)\b\s*", check_context=True)
def _h_dont_like(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = m.group("verb").lower()
    never = m.group("neg").lower() == "never"
    if verb in {"drink", "smoke"} and re.match(r"\s*(?:[.,!;]|$|alcohol|anymore|at all)", rest, re.I):
        what = "" if not re.match(r"\s*alcohol", rest, re.I) else " alcohol"
        return [(Category.PREFERENCE, f"{'never ' if never else 'does not '}{verb if not never else _third_person(verb)}{what}".replace("does not drink", "doesn't drink").replace("does not smoke", "doesn't smoke"), EXPLICIT)]
    obj = _free_object(rest, max_words=5)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "much", "that", "it", "to"}:
        return []
    if never:
        return [(Category.PREFERENCE, f"never {_third_person(verb)} {obj}", EXPLICIT)]
    return [(Category.PREFERENCE, f"doesn't {verb} {obj}", EXPLICIT)]


_PURPOSE_SPLIT_RE = re.compile(r"\s+(?:for|with|at|in\s+(?:my|the|their)|on\s+(?:my|the)|during|before|after)\s+", re.I)


@_rule(
    "learning",
    "learning practicing practising getting taking",
    r"\b(?:i'm|im|i\s+am|i've\s+been|ive\s+been|i\s+have\s+been)\s+" + ADV + r"(?P<verb>learning|practicing|practising|getting\s+into|taking)\s+",
)
def _h_learning(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = _norm_space(m.group("verb").lower())
    obj = _free_object(_PURPOSE_SPLIT_RE.split(rest, maxsplit=1)[0], max_words=6)
    if obj is None:
        return []
    first = obj.split()[0].lower()
    if first in {"a", "an"} and verb != "taking" or first in {"so", "lots", "more", "from", "about", "care", "it", "time", "the"} and len(obj.split()) == 1:
        return []
    if re.match(r"(?:a\s+lot|lots|so\s+much|more|new\s+things|from|about|that|how\s+to\s+deal)", obj, re.I):
        return []
    if verb == "taking":
        if not re.search(r"\b(?:lessons?|class(?:es)?|courses?)$", obj, re.I):
            return []
        return [(Category.HOBBY, f"is taking {obj}", EXPLICIT)]
    if verb == "getting into":
        return [(Category.HOBBY, f"is getting into {obj}", EXPLICIT)]
    if verb in {"practicing", "practising"}:
        return [(Category.HOBBY, f"practises {obj}", EXPLICIT)]
    return [(Category.HOBBY, f"is learning {obj}", EXPLICIT)]


@_rule("into", "into", r"\b(?:i'm|im|i\s+am|i've\s+been|ive\s+been|i\s+have\s+been)\s+" + ADV + r"(?:really\s+|super\s+|so\s+|very\s+|big\s+|heavily\s+|deep\s+|totally\s+)?into\s+")
def _h_into(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=5)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "their", "them"}:
        return []
    return [(Category.HOBBY, f"is into {obj}", EXPLICIT)]


_HOBBY_VERBS_TRANSITIVE = "play|bake|knit|crochet|sew|paint|draw|sketch|shoot|collect|brew|write|sing|do|practice|practise|volunteer"
_HOBBY_DO_OBJECTS = frozenset(
    """
    yoga pilates pottery crossfit karate judo jiu-jitsu jujitsu taekwondo boxing kickboxing
    archery fencing ballet salsa tai chi parkour calligraphy origami woodworking photography
    martial arts gymnastics triathlons marathons improv standup stand-up theatre theater
    """.split()
)


@_rule("hobby_verb", "play playing bake knit crochet sew paint draw sketch shoot collect brew write sing do practice practise volunteer",
       r"\bi(?:\s+|'ve\s+been\s+|\s+have\s+been\s+)" + ADV + r"(?P<verb>" + _HOBBY_VERBS_TRANSITIVE + r"|playing)\s+(?!(?:it|that|this|with|them|you|a\s+lot|too|to|for|my\s+best|well|not|so|what|whatever|the\s+same|things|stuff|some|anything|something|everything|nothing)\b)")
def _h_hobby_verb(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = m.group("verb").lower()
    if verb == "playing":
        verb = "play"
    elif "been" in m.group(0).lower():
        return []
    if verb == "play":
        rest = re.split(r"\s+(?:in|at|with|on|for|every|after|before|since|when|during)\s+", rest, maxsplit=1)[0]
    obj = _free_object(rest, max_words=4)
    if obj is None:
        return []
    words = obj.split()
    first = words[0].lower()
    if first in {"a", "an", "their", "them", "one", "on", "at", "in", "every", "all"}:
        return []
    if verb == "do" and obj.lower() not in _HOBBY_DO_OBJECTS:
        return []
    if verb == "shoot" and not re.match(r"(?:film|photos?|pictures?|portraits?|landscapes?|weddings?|video|street|analog|digital|35mm|medium format)\b", obj, re.I):
        return []
    if verb == "write" and not re.match(r"(?:poetry|poems?|songs?|stories|short stories|fiction|novels?|music|fanfic|code|a blog|blogs?|essays?|screenplays?)\b", obj, re.I):
        return []
    if verb == "sing" and not re.match(r"(?:in\s+a\s+choir|in\s+a\s+band|karaoke|opera|jazz)\b", obj, re.I):
        return []
    if verb in {"volunteer"}:
        if not re.match(r"(?:at|with|for)\s", rest.lstrip(), re.I):
            return []
    if verb == "play":
        obj = re.split(r"\s+(?:in|at|with|on|for|every|after|before|since)\s+", obj, maxsplit=1)[0]
        words = obj.split()
        if len(words) > 3:
            return []
    if verb == "paint" and first in {"the"}:
        return []
    category = Category.HOBBY
    if re.search(r"\b(?:for a living|professionally|for work)$", obj, re.I):
        category = Category.OCCUPATION
    return [(category, f"{_third_person(verb if verb != 'practise' else 'practice')} {obj}", EXPLICIT)]


@_rule("volunteer", "volunteer", r"\bi\s+" + ADV + r"volunteer\s+(?P<prep>at|with|for)\s+")
def _h_volunteer(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None:
        return []
    return [(Category.HOBBY, f"volunteers {m.group('prep').lower()} {obj}", EXPLICIT)]


@_rule("go_gerund", "go", r"\b(?P<subj>i|we)\s+" + ADV + r"go\s+(?P<g>(?:fishing|hiking|running|camping|climbing|bouldering|swimming|surfing|skiing|snowboarding|dancing|bowling|sailing|kayaking|canoeing|cycling|biking|skating|jogging|birdwatching|birding|horseback riding|horse riding|diving|scuba diving|snorkeling|snorkelling|rock climbing|hunting|golfing|paddleboarding|rowing|mountain biking|trail running|backpacking|antiquing|thrifting|foraging))\b")
def _h_go_gerund(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.HOBBY, f"goes {m.group('g').lower()}", _subj_conf(m))]


@_rule("took_up", "took taken picked started", r"\bi\s+(?:have\s+|'ve\s+|just\s+|recently\s+|finally\s+)*(?:took|taken|picked)\s+up\s+|\bi\s+(?:just\s+|recently\s+)?started\s+(?=\w+ing\b)")
def _h_took_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=4)
    if obj is None:
        return []
    first = obj.split()[0].lower()
    if first in {"a", "an", "the", "their", "them", "on", "after"}:
        return []
    if "started" in m.group(0).lower():
        if first not in _HOBBY_GERUNDS:
            return []
        return [(Category.HOBBY, f"started {obj}", EXPLICIT)]
    return [(Category.HOBBY, f"took up {obj}", EXPLICIT)]


@_rule("joined", "joined", IWE + r"(?:just\s+|recently\s+)?joined\s+(?=(?:a|an|the|my)\s)")
def _h_joined(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=7)
    if obj is None:
        return []
    words = obj.split()
    if not any(w.lower() in {"club", "team", "group", "program", "programme", "choir", "band", "league", "gym", "class", "orchestra", "society", "crew", "troupe", "circle", "association"} for w in words[1:]):
        return []
    return [(Category.HOBBY, f"joined {obj}", _subj_conf(m))]


@_rule("hobbies_are", "hobby hobbies", r"\b(?:my|our)\s+(?:main\s+|favou?rite\s+|big\s+)?hobb(?:y|ies)\s+(?:is|are|include|includes)\s+")
def _h_hobbies(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None:
        return []
    return [(Category.HOBBY, f"enjoys {obj}", EXPLICIT)]


@_rule("fan_of", "fan", IM + r"(?P<neg>not\s+)?(?:a|an)\s+(?:big\s+|huge\s+|massive\s+|giant\s+|die[- ]hard\s+|lifelong\s+|long[- ]time\s+|total\s+)?fan\s+of\s+", check_context=True)
def _h_fan_of(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None:
        return []
    first = obj.split()[0].lower()
    if first in {"the", "a", "an", "their"} and len(obj.split()) > 1 and not obj.split()[1][:1].isupper():
        if first != "the" or obj.split()[1].lower() not in {"outdoors"}:
            return []
    if first in {"both", "all", "their"}:
        return []
    return [(Category.PREFERENCE, f"is {'not ' if m.group('neg') else ''}a fan of {obj}", EXPLICIT)]


@_rule("passionate", "passionate obsessed", IM + r"(?:really\s+|super\s+|so\s+|very\s+|deeply\s+|truly\s+)?(?P<what>passionate\s+about|obsessed\s+with)\s+")
def _h_passionate(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "their", "them"} and len(obj.split()) < 3:
        return []
    if obj.split()[0].lower() in {"the", "their"} and not obj.split()[1][:1].isupper():
        return []
    what = _norm_space(m.group("what").lower())
    return [(Category.PREFERENCE, f"is {what} {obj}", EXPLICIT)]


@_rule("got_accepted", "accepted admitted", r"\bi\s+" + ADV + r"(?:got|was|have\s+been|'ve\s+been)\s+(?:accepted|admitted)\s+(?P<prep>to|into|for|at)\s+")
def _h_got_accepted(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=7)
    if obj is None:
        return []
    if _SCHOOL_RE.search(obj) or re.search(r"\b(?:program(?:me)?|course|degree|phd|master'?s|mba)\b", obj, re.I):
        category = Category.EDUCATION
    elif re.search(r"\b(?:internship|job|position|role|residency|apprenticeship|fellowship)\b", obj, re.I):
        category = Category.OCCUPATION
    else:
        return []
    return [(category, f"got accepted {m.group('prep').lower()} {obj}", EXPLICIT)]


@_rule("x_fan", "fan", IM + r"(?:a|an)\s+(?:big\s+|huge\s+|massive\s+|giant\s+|die[- ]hard\s+|lifelong\s+|long[- ]time\s+|total\s+)?(?P<what>(?-i:[A-Z][\w'.&-]*)(?:\s+(?-i:[A-Z][\w'.&-]*)){0,3})\s+fan\b")
def _h_x_fan(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what")
    if what.split()[0].lower() in _NOT_NAMES:
        return []
    return [(Category.PREFERENCE, f"is a fan of {what}", EXPLICIT)]


_NATIONALITIES = (
    "american canadian mexican brazilian argentinian argentine chilean colombian peruvian venezuelan "
    "cuban jamaican british english scottish welsh irish french german italian spanish portuguese dutch "
    "belgian swiss austrian swedish norwegian danish finnish icelandic polish czech slovak hungarian "
    "romanian bulgarian greek turkish russian ukrainian lebanese syrian israeli egyptian moroccan "
    "nigerian ghanaian kenyan ethiopian south african indian pakistani bangladeshi sri lankan nepali "
    "chinese japanese korean taiwanese vietnamese thai filipino indonesian malaysian singaporean "
    "australian kiwi iranian iraqi saudi emirati"
)


@_rule("nationality", _NATIONALITIES, IM + r"(?:half\s+)?(?P<nat>" + "|".join(_NATIONALITIES.split()) + r")(?:[- ](?P<nat2>" + "|".join(_NATIONALITIES.split()) + r"))?\b(?=\s*(?:[,.!;]|$|and\b|but\b|so\b|by\b|originally\b|too\b|lol\b|haha\b|though\b|myself\b))")
def _h_nationality(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    nat = m.group("nat").capitalize()
    if m.group("nat2"):
        nat = f"{nat}-{m.group('nat2').capitalize()}"
    half = "half " if re.search(r"\bhalf\s", m.group(0), re.I) else ""
    return [(Category.OTHER, f"is {half}{nat}", EXPLICIT)]


@_rule("personality", "introvert extrovert ambivert homebody introverted extroverted", IM + r"(?:a\s+|an\s+)?(?:total\s+|big\s+|huge\s+|complete\s+)?(?P<what>introvert|extrovert|ambivert|homebody|introverted|extroverted)\b")
def _h_personality(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what").lower()
    if what.endswith("ed"):
        return [(Category.OTHER, f"is {what}", EXPLICIT)]
    return [(Category.OTHER, f"is {_article(what)} {what}", EXPLICIT)]


@_rule("afraid_of", "scared afraid terrified phobia", IM + r"(?:really\s+|so\s+|very\s+|super\s+|deathly\s+)?(?P<what>scared|afraid|terrified)\s+of\s+")
def _h_afraid_of(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=4)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "their", "them", "what", "how", "being", "getting", "losing", "messing"}:
        return []
    return [(Category.PREFERENCE, f"is afraid of {obj}", EXPLICIT)]


@_rule("person_type", "person people", IM + r"(?P<neg>not\s+)?(?:really\s+)?(?:a|an)\s+(?:big\s+)?(?P<kind>morning|night|cat|dog|people|coffee|tea|beach|mountain|city|outdoors|indoor|outdoor|winter|summer|early)\s+(?:person|people)\b")
def _h_person_type(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    kind = m.group("kind").lower()
    return [(Category.PREFERENCE, f"is {'not ' if m.group('neg') else ''}{_article(kind)} {kind} person", EXPLICIT)]


# ---- preferences ----------------------------------------------------------------------------------

_FAV_SKIP = frozenset("part bit moment memory scene thing about line quote day time".split())


@_rule(
    "favourite_is",
    "favorite favourite fave fav",
    r"\b(?P<poss>my|our)\s+(?:all[- ]time\s+|absolute\s+|current\s+|new\s+)?(?:favou?rite|fave?)\s+(?P<kind>[a-z][a-z\-]*(?:\s+[a-z][a-z\-]*){0,2}?)(?:\s+of\s+all\s+time|\s+ever)?\s+(?:is|are|has\s+to\s+be|would\s+be|'s)\s+",
)
def _h_favourite_is(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    kind = m.group("kind").lower()
    if any(w in _FAV_SKIP for w in kind.split()) or kind in {"thing", "things", "one"}:
        return []
    obj = _free_object(rest, max_words=9)
    if obj is None:
        return []
    if obj.split()[0].lower() in {"a", "an", "their", "when", "to"}:
        return []  # "my favourite part is when ...", "my favourite thing is to ..."
    return [(Category.PREFERENCE, f"favourite {kind} is {obj}", _subj_conf(m) if m.group("poss").lower() == "my" else INDIRECT)]


@_rule(
    "x_is_my_favourite",
    "favorite favourite fave fav",
    r"(?:,|^|\band\s+)\s*(?P<obj>[^,;:]{1,60}?)(?:\s+(?:is|are|was)|'s)\s+(?:still\s+|definitely\s+|easily\s+|probably\s+|officially\s+|by\s+far\s+|totally\s+)?my\s+(?:all[- ]time\s+|absolute\s+|new\s+)?(?:favou?rite|fave?)\s+(?P<kind>[a-z]+(?:\s+[a-z]+)?)\b",
    check_context=False,
)
def _h_x_is_my_fav(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    kind = m.group("kind").lower()
    if any(w in _FAV_SKIP for w in kind.split()):
        return []
    raw = m.group("obj").strip()
    words = raw.split()
    if words and words[0].lower() in {"it", "it's", "that", "this", "which", "he", "she", "they"}:
        # "I just reread Half of a Yellow Sun, it's still my favourite book"
        before = ctx.sentence[: m.start()]
        tm = _TITLE_BEFORE_RE.search(before)
        if tm is None:
            return []
        title = tm.group("title").strip()
        if not title[:1].isupper() or _NEGATION_RE.search(before) or _UNREAL_RE.search(before[: tm.start()]):
            return []
        return [(Category.PREFERENCE, f"favourite {kind} is {title}", INDIRECT)]
    if len(words) > 6 or not words:
        return []
    if _NEGATION_RE.search(raw) or _UNREAL_RE.search(raw) or _YOU_RE.search(raw) or _DEICTIC_RE.search(raw):
        return []
    if re.search(r"\b(?:i|i'm|my|we|he|she|they|his|her)\b", raw, re.I):
        return []
    if not raw[:1].isupper() and len(words) > 2:
        return []
    obj = _tidy(raw, trim_time=False)
    if not obj:
        return []
    obj = obj[0].upper() + obj[1:] if obj[:1].isupper() else obj
    return [(Category.PREFERENCE, f"favourite {kind} is {obj}", EXPLICIT)]


_TITLE_BEFORE_RE = re.compile(
    r"\bi\s+" + ADV + r"(?:re)?(?:read|watched|saw|listened\s+to|finished|played|rewatched|re-read|re-watched)\s+(?P<title>(?-i:[A-Z])[^,;]{0,60}?)\s*,?\s*(?:and\s+)?$",
    re.I,
)


@_rule(
    "gerund_is_my_fav",
    "favorite favourite fave faves favorites favourites",
    r"(?:^|,\s*)(?P<obj>(?-i:[A-Z]?)[a-z]+ing(?:\s+[a-z]+){0,4}?)\s+(?:is|are)\s+(?:one\s+of\s+)?my\s+(?:all[- ]time\s+)?(?:favou?rites?|faves?)(?:\s+(?:things?|hobb(?:y|ies)|activit(?:y|ies)|pastimes?))?(?=\s*(?:[,.!;]|$))",
)
def _h_gerund_is_my_fav(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = m.group("obj").strip()
    first = obj.split()[0].lower()
    if first not in _HOBBY_GERUNDS or _YOU_RE.search(obj) or _DEICTIC_RE.search(obj):
        return []
    obj = _tidy(obj, trim_time=True)
    return [(Category.HOBBY, f"enjoys {obj[0].lower() + obj[1:]}", EXPLICIT)]


@_rule("diet", "vegetarian vegan pescatarian pescetarian flexitarian teetotal teetotaler gluten-free gluten dairy-free dairy keto kosher halal sober plant-based plant",
       r"\b(?P<subj>i'm|im|i\s+am|i've\s+been|ive\s+been|i\s+have\s+been|we're|we\s+are|we've\s+been)\s+" + ADV + r"(?:a\s+|an\s+)?(?:strict\s+|full[- ]time\s+|lifelong\s+)?(?P<diet>" + _DIETS + r")\b(?!-\w)"
       r"(?=\s*(?:[,.!?;:)]|$|(?:and|but|so|too|now|since|for|lol|haha\w*|though|btw|because|or|as|which|"
       r"mostly|actually|really|now|these|nowadays|anyway|myself|tbh|honestly|lately|again|at|except|except)\b))")
def _h_diet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    diet = m.group("diet").lower().replace(" ", "-")
    if diet == "teetotaler":
        diet = "teetotal"
    conf = INDIRECT if m.group("subj").lower().startswith("we") else EXPLICIT
    return [(Category.HEALTH if diet == "sober" else Category.PREFERENCE, f"is {diet}", conf)]


# ---- health ---------------------------------------------------------------------------------------


_NOUN_LIST_RE = re.compile(
    r"\s*((?:[a-z][\w-]*)(?:\s+[a-z][\w-]*)?(?:\s*,\s*[a-z][\w-]*(?:\s+[a-z][\w-]*)?)*(?:,?\s+(?:and|&)\s+[a-z][\w-]*(?:\s+[a-z][\w-]*)?))(?=\s*(?:[.!?;]|$))"
)


@_rule("allergic", "allergic", IM + r"(?:very\s+|super\s+|severely\s+|deathly\s+|mildly\s+|slightly\s+|a\s+bit\s+|a\s+little\s+)?allergic\s+to\s+")
def _h_allergic(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    lm = _NOUN_LIST_RE.match(rest)
    if lm and not _YOU_RE.search(lm.group(1)) and not _DEICTIC_RE.search(lm.group(1)):
        return [(Category.HEALTH, f"is allergic to {_norm_space(lm.group(1))}", EXPLICIT)]
    obj = _free_object(rest, max_words=4)
    if obj is None:
        return []
    return [(Category.HEALTH, f"is allergic to {obj}", EXPLICIT)]


@_rule("allergy", "allergy", IWE + r"(?:have|'ve\s+got|have\s+got)\s+(?:a|an)\s+(?:severe\s+|bad\s+|mild\s+|serious\s+)?(?P<what>[a-z\-]+(?:\s+[a-z\-]+)?)\s+allergy\b")
def _h_allergy(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if m.group("subj").lower() != "i":
        return []
    what = m.group("what").lower()
    if what in {"food", "bad", "slight", "weird", "little"}:
        return []
    return [(Category.HEALTH, f"is allergic to {what}", EXPLICIT)]


@_rule("health_adj", "intolerant diabetic celiac coeliac asthmatic epileptic anemic anaemic deaf hearing blind colorblind colourblind color-blind colour-blind dyslexic autistic immunocompromised pregnant",
       IM + r"(?:(?:\d+|a\s+few|two|three|four|five|six|seven|eight|nine)\s+(?:months?|weeks?)\s+)?(?P<what>" + _HEALTH_ADJ + r")\b")
def _h_health_adj(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what").lower()
    if what == "pregnant":
        return [(Category.HEALTH, "is pregnant", EXPLICIT)]
    return [(Category.HEALTH, f"is {what}", EXPLICIT)]


@_rule("condition", "have diagnosed suffer living got",
       r"\bi\s+" + ADV + r"(?P<verb>have|'ve\s+got|have\s+got|was\s+diagnosed\s+with|got\s+diagnosed\s+with|suffer\s+from|am\s+living\s+with|'m\s+living\s+with)\s+(?P<what>" + _CONDITIONS + r")\b(?!\s+(?:of|for|about|in\s+the))")
def _h_condition(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what").lower()
    if what in {"a cold", "the flu", "covid"}:
        return []  # passing
    if "allergy" in what or what == "allergies":
        return []
    verb = m.group("verb").lower()
    canon = {"adhd": "ADHD", "add": "ADD", "ocd": "OCD", "ptsd": "PTSD", "ibs": "IBS", "pcos": "PCOS"}.get(what, _norm_space(what))
    if "diagnosed" in verb:
        return [(Category.HEALTH, f"was diagnosed with {canon}", EXPLICIT)]
    return [(Category.HEALTH, f"has {canon}", EXPLICIT)]


@_rule("injury", "broke sprained pulled tore twisted injured hurt strained fractured dislocated",
       r"\bi\s+" + ADV + r"(?P<verb>broke|sprained|pulled|tore|twisted|injured|hurt|strained|fractured|dislocated)\s+(?P<obj>(?:my|a)\s+(?:left\s+|right\s+|lower\s+)?(?:ankle|wrist|arm|leg|knee|back|shoulder|neck|hamstring|calf|toe|finger|hip|foot|hand|elbow|rib|ribs|nose|collarbone|acl|meniscus|muscle\s+in\s+my\s+\w+|something\s+in\s+my\s+(?:left\s+|right\s+|lower\s+)?\w+))\b")
def _h_injury(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _swap_pronouns(_norm_space(m.group("obj")))
    return [(Category.HEALTH, f"{m.group('verb').lower()} {obj}", EXPLICIT)]


@_rule("quit_habit", "quit stopped", r"\bi\s+" + ADV + r"(?:quit|stopped|gave\s+up)\s+(?P<what>smoking|drinking|vaping|alcohol|caffeine|sugar|cigarettes|weed)\b")
def _h_quit_habit(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.HEALTH, f"quit {m.group('what').lower()}", EXPLICIT)]


@_rule("recovering", "recovering", IM + r"(?:still\s+)?recovering\s+from\s+")
def _h_recovering(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=5)
    if obj is None or obj.split()[0].lower() in {"the", "that", "a"} and len(obj.split()) < 2:
        return []
    if obj.split()[0].lower() in {"the"}:
        return []
    return [(Category.HEALTH, f"is recovering from {obj}", EXPLICIT)]


# ---- other ----------------------------------------------------------------------------------------


@_rule("age", "i'm im am turned", r"\b(?:(?:i'm|im|i\s+am)\s+(?:now\s+)?|i\s+(?:just\s+)?turned\s+)(?P<age>\d{1,2})(?:\s+(?:years?|yrs?)(?:\s+old)?|\s*y/?o)?(?=\s*(?:[,.!;]|$|and\b|now\b|this\b|next\b|today\b|btw\b|lol\b|haha\b|last\b|yesterday\b|on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b))")
def _h_age(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    age = int(m.group("age"))
    if age < 13 or age > 99:
        return []
    return [(Category.OTHER, f"is {age} years old", EXPLICIT)]


@_rule("name", "name name's", r"\bmy\s+name\s+is\s+|\bmy\s+name's\s+")
def _h_name(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = _name_at(rest)
    if not name:
        return []
    return [(Category.OTHER, f"name is {name}", EXPLICIT)]


@_rule("call_me", "call", r"(?:^|[,.!]\s*|\bjust\s+|\bplease\s+)call\s+me\s+(?=(?-i:[A-Z]))", check_context=False)
def _h_call_me(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = _name_at(rest)
    if not name or not re.match(r"\s*" + re.escape(name) + r"\s*(?:[,.!;]|$|please\b|lol\b|haha\b|btw\b|though\b)", rest):
        return []
    return [(Category.OTHER, f"goes by {name}", INDIRECT)]


_MONTH_ALT = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"


@_rule("birthday", "birthday bday", r"\bmy\s+(?:birthday|bday)\s+is\s+(?:on\s+)?(?P<date>(?:" + _MONTH_ALT + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + _MONTH_ALT + r"))\b")
def _h_birthday(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    date = _norm_space(m.group("date"))
    words = date.split()
    date = " ".join(w.capitalize() if w.lower().strip(".") in _MONTH_ALT.split("|") else w for w in words)
    return [(Category.OTHER, f"birthday is {date}", EXPLICIT)]


@_rule("speaks", "speak fluent", r"\bi\s+" + ADV + r"(?:speak|am\s+fluent\s+in|'m\s+fluent\s+in)\s+(?:fluent\s+|some\s+|a\s+little\s+|basic\s+)?(?P<lang>[A-Za-z]+)(?P<more>(?:\s*,\s*[A-Za-z]+)*(?:,?\s+and\s+[A-Za-z]+)?)")
def _h_speaks(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    langs = [m.group("lang")] + re.findall(r"[A-Za-z]+", m.group("more") or "")
    langs = [lang for lang in langs if lang.lower() != "and"]
    if not langs or any(lang.lower() not in _LANGUAGES for lang in langs):
        return []
    langs = [lang.upper() if lang.lower() == "asl" else lang[0].upper() + lang[1:].lower() for lang in langs]
    text = langs[0] if len(langs) == 1 else ", ".join(langs[:-1]) + " and " + langs[-1]
    hedge = "some " if re.search(r"some|a little|basic", m.group(0), re.I) else ""
    return [(Category.OTHER, f"speaks {hedge}{text}", EXPLICIT)]


# --------------------------------------------------------------------------------------------
# Driver


_GUARD_WINDOW = 200  # characters before a lead that can negate or hedge it
_MAX_SENTENCE = 600  # longer run-on sentences are cut into clause-aligned chunks
_MAX_MATCHES_PER_RULE = 12
_CLAUSE_SPLIT_RE = re.compile(
    r"[,;:]|\s-\s|\b(?:but|and|so|because|though|although|while|whereas)\b", re.I
)


def _guard(prefix_sentence: str) -> float | None:
    """None when the text before a lead negates it or makes it unreal/reported, else a confidence cap."""
    prefix_sentence = prefix_sentence[-_GUARD_WINDOW:]
    clause = _CLAUSE_SPLIT_RE.split(prefix_sentence)[-1]
    if _NEGATION_RE.search(clause):
        return None
    if _UNREAL_RE.search(prefix_sentence):
        return None
    cleaned = _IDIOM_IF_RE.sub(" ", prefix_sentence)
    if _CONDITION_RE.search(_IDIOM_IF_RE.sub(" ", clause)):
        return None
    if _CONDITION_RE.search(cleaned):
        return HEDGED_STRONG
    return 1.0


def _hedge_cap(text: str) -> float:
    if _HEDGE_STRONG_RE.search(text):
        return HEDGED_STRONG
    if _HEDGE_WEAK_RE.search(text):
        return HEDGED_WEAK
    return 1.0


_TOKEN_RE = re.compile(r"[\w]+(?:['\-][\w]+)*")
_RULE_INDEX: dict[str, tuple[int, ...]] = {}
for _no, _r in enumerate(_RULES):
    for _w in _r.words:
        _RULE_INDEX[_w] = (*_RULE_INDEX.get(_w, ()), _no)
del _no, _r, _w

_NEGATION_IN_LEAD_OK = frozenset({"dont_like", "fan_of", "person_type", "love_like"})
_GATE_RE = re.compile(
    r"\b(?:i|i'm|im|i've|ive|i'd|i'll|my|we|we're|we've|our|me|born|grew|went|goal|used|just|je|j'habite|also|landed|back|been|lost)\b",
    re.I,
)


def _facts_in_message(text: str) -> list[Emit]:
    if not text or not isinstance(text, str):
        return []
    text = text.translate(_TRANSLATE)
    if not _GATE_RE.search(text) or _looks_injected(text):
        return []
    found: dict[tuple[Category, str], float] = {}
    sentences = _sentences(text)
    message_lower = " ".join(sentences).lower()
    for sentence in sentences:
        if not _GATE_RE.search(sentence):
            continue
        tokens = _TOKEN_RE.findall(sentence.lower())
        candidates: set[int] = set()
        for tok in tokens:
            hit = _RULE_INDEX.get(tok)
            if hit:
                candidates.update(hit)
        for rule_no in sorted(candidates):
            rule = _RULES[rule_no]
            for m_no, m in enumerate(rule.regex.finditer(sentence)):
                if m_no >= _MAX_MATCHES_PER_RULE:
                    break
                prefix = sentence[: m.start()]
                guard_cap = _guard(prefix) if rule.check_context else 1.0
                if guard_cap is None:
                    continue
                if _NEGATION_RE.search(m.group(0)) and rule.name not in _NEGATION_IN_LEAD_OK:
                    continue
                rest = sentence[m.end() : m.end() + 240]
                ctx = _Ctx(sentence=sentence, message=message_lower)
                try:
                    emitted = list(rule.handler(m, rest, ctx))
                except (ValueError, IndexError, KeyError):  # defensive: a rule bug must not kill a run
                    emitted = []
                if not emitted:
                    continue
                scope = _CLAUSE_SPLIT_RE.split(prefix[-_GUARD_WINDOW:])[-1] + m.group(0) + _cut(rest)
                cap = min(guard_cap, _hedge_cap(scope))
                for category, fact, conf in emitted:
                    fact = _restore(_norm_space(fact)).strip(" ,.;:!?")
                    if len(fact) < 3 or len(fact) > MAX_FACT_CHARS:
                        continue
                    conf = round(min(conf, cap), 2)
                    key = (category, fact)
                    if conf > found.get(key, -1.0):
                        found[key] = conf
    return [(c, f, conf) for (c, f), conf in found.items()]


_SPECIFIC_RE = re.compile(r"^(has (?:a|an|\w+) [\w\s-]+?) (?:named|who) .+$")
_LIST_FACT_RE = re.compile(r"^has (?!.*\b(?:named|who)\b)((?:a|an|\w+) [\w\s,-]+ and (?:a|an|\w+) [\w\s-]+)$")
_LIST_SPLIT_RE = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_WANT_PLAN_RE = re.compile(r"^wants to (\w+) (.+)$")
_COMMITTED_PLAN_RE = re.compile(r"^(?:is (\w+ing)|plans to (\w+)) (.+)$")


def _plan_forms(verb: str) -> set[str]:
    """The forms a committed plan can use for `verb`: "plans to open" or "is opening"."""
    v = verb.lower()
    forms = {v, v + "ing", v + v[-1:] + "ing"}
    if v.endswith("e") and not v.endswith(("ee", "ye", "oe")):
        forms.add(v[:-1] + "ing")
    return forms


def extract_facts(turns: Sequence[Turn]) -> list[Fact]:
    """Facts stated in first person by the users in `turns` (user turns only; the caller never passes bot turns)."""
    merged: dict[tuple[str, Category, str], list] = {}
    for position, turn in enumerate(turns):
        try:
            emitted = _facts_in_message(turn.content)
        except RecursionError:  # pragma: no cover - defensive
            emitted = []
        for category, fact, conf in emitted:
            key = (turn.user_id, category, fact)
            entry = merged.get(key)
            if entry is None:
                merged[key] = [position, conf, {turn.message_id}]
            else:
                entry[1] = max(entry[1], conf)
                entry[2].add(turn.message_id)

    # "has a dog" adds nothing when the same user's "has a dog named Biscuit" is in the batch
    # (likewise "has a sister" next to "has a sister who lives in Lyon").
    specific = {
        (user, cat, m.group(1))
        for (user, cat, fact) in merged
        if cat in (Category.PET, Category.FAMILY) and (m := _SPECIFIC_RE.match(fact))
    }
    # "has a cat" adds nothing next to "has a dog and a cat" either.
    specific.update(
        (user, cat, f"has {item}")
        for (user, cat, fact) in merged
        if cat in (Category.PET, Category.FAMILY) and (m := _LIST_FACT_RE.match(fact))
        for item in _LIST_SPLIT_RE.split(m.group(1))
    )
    # "wants to open a bakery" adds nothing next to "is opening a bakery" or "plans to open a bakery".
    committed = {
        (user, (m.group(1) or m.group(2)).lower(), m.group(3))
        for (user, cat, fact) in merged
        if cat is Category.PLAN and (m := _COMMITTED_PLAN_RE.match(fact))
    }
    specific.update(
        (user, cat, fact)
        for (user, cat, fact) in merged
        if cat is Category.PLAN
        and (m := _WANT_PLAN_RE.match(fact))
        and any((user, form, m.group(2)) in committed for form in _plan_forms(m.group(1)))
    )
    facts: list[tuple[int, str, str, Fact]] = []
    for (user, category, fact), (position, conf, ids) in merged.items():
        if (user, category, fact) in specific:
            continue
        facts.append(
            (
                position,
                category.value,
                fact,
                Fact(
                    user_id=user,
                    category=category,
                    fact=fact,
                    confidence=conf,
                    source_message_ids=tuple(sorted(ids)),
                ),
            )
        )
    facts.sort(key=lambda item: (item[0], item[1], item[2], item[3].user_id))
    return [item[3] for item in facts]
