"""Word lists, tables and compiled word-list patterns the rules test objects against (data only)."""

from __future__ import annotations

import re

from whisper_assets.core.llm.schemas import Category

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

# An object that names a school: "going to Yale" is education, not a trip or a plan.
_SCHOOL_RE = re.compile(r"\b(?:university|college|school|institute|academy|polytechnic|uni)\b|^(?:MIT|UCLA|NYU|USC|Harvard|Yale|Stanford|Princeton|Oxford|Cambridge|Berkeley)$", re.I)

# Words that make "went to X" or "going to X" a trip.
_TRAVEL_WORDS_RE = re.compile(
    r"\b(?:trip|travel\w*|flight|flew|fly|flying|vacation|holiday|honeymoon|abroad|tour|touring|"
    r"backpacking|sightseeing|visa|passport|jet ?lag)\b",
    re.I,
)

# Verbs after "I want to" or "I love to" that state no goal or hobby ("I want to thank you").
_WANT_SKIP = frozenset(
    """
    thank know say hear see ask tell share make check try go get do keep help remind let add give
    show talk chat vent cry sleep eat read hug have feel find look hang catch come stop sit take
    send post update hear stay celebrate express mention apologize apologise spend enjoy pay
    """.split()
)

# Adjectives allowed between "my" and a pet's species ("my old rescue dog").
_PET_ADJ = r"(?:(?:own|old|new|little|sweet|senior|baby|rescue|pet|beloved|lovely|crazy|silly|fat|lazy|big|tiny|adorable|grumpy|\d+[- ]year[- ]old|two|three|four)\s+)*"
# Words that say a pet or relative has died.
_DEAD_RE = re.compile(r"\b(?:died|passed|put down|put to sleep|lost (?:my|our)|rip|rest in peace|miss (?:my|our)|late)\b", re.I)

# Words in -ing that are not gerunds, or too common to name an activity.
_GERUND_NOT = frozenset(
    """
    thing something nothing anything everything morning evening king ring spring wedding ceiling
    clothing pudding string sibling darling feeling being having getting seeing hearing knowing
    watching talking chatting doing going coming making trying sharing chatting meeting helping
    spending taking giving living working listening reading learning sitting thinking looking
    finding telling saying
    """.split()
)

# Gerunds that name a hobby.
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
