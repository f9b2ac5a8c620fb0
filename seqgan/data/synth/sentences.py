"""English sentences from a small built-in grammar (no download), sized by a word budget.

A sentence is one or more clauses joined by conjunctions; each clause comes from a template filled
with words from the lists below. :func:`make_sentence` keeps adding clauses while they fit the word
budget, so the spoken length follows the budget the caller derives from a target duration.
"""

from __future__ import annotations

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    """Phrases separated by "|" or line breaks."""
    return tuple(" ".join(p.split()) for p in text.replace("\n", "|").split("|") if p.strip())


ADJECTIVES = _words("""
old young small large quiet noisy bright dark warm cold green blue red yellow wooden heavy light
quick slow happy tired clever gentle strange empty busy tall short soft rough clean dusty friendly
proud silver golden round narrow wide distant early late famous simple
""")
NOUNS = _words("""
dog cat horse bird farmer teacher doctor sailor painter student driver baker neighbour river mountain
garden window kitchen table chair letter poem song train boat bridge market village castle forest
island lamp clock book basket apple bottle blanket engine ladder pencil candle wagon hammer jacket
kettle mirror pocket rabbit tower valley whistle
""")
PLACES = _phrases("""
the station | the harbour | the library | the old mill | the hill | the square | the bakery
the school | the beach | the farm | the museum | the park | the corner shop | the stable
""")
NAMES = _words("""
Anna Ben Clara David Emma Frank Grace Henry Iris Jack Kate Leo Maria Nick Olivia Peter Rose Sam Tom
Una Victor Wendy Zoe Oscar
""")
VERBS_PAST = _words("""
found carried painted opened closed moved cleaned watched followed lifted dropped fixed bought sold
borrowed pushed pulled wrapped counted noticed visited described remembered forgot hid packed dried
filled checked kept
""")
VERBS_BASE = _words("""
find carry paint open close move clean watch follow lift fix buy sell borrow push pull wrap count
visit describe pack fill check keep
""")
INTRANSITIVE_PAST = _words("""
waited laughed arrived stopped listened slept rested smiled danced paused whispered shouted wandered
returned hurried sang
""")
ADVERBS = _words("""
slowly quickly quietly carefully happily suddenly gently proudly loudly calmly early again together
outside twice
""")
PREPOSITIONS = ("near", "behind", "under", "beside", "across", "inside", "above", "around", "past", "along")
TIMES = _phrases("""
this morning | last night | on Monday | on Tuesday | on Friday | after lunch | before dinner
in the spring | at noon | every evening | yesterday | at dawn | in winter | last week
""")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty")
CONJUNCTIONS = ("and", "but", "while", "because", "so", "before", "after", "although")

# Clause templates; {adj} {noun} {place} {name} {vp} {vb} {vi} {adv} {prep} {time} {num} are filled in.
TEMPLATES = _phrases("""
the {noun} {vi} | {name} {vi} {adv} | the {adj} {noun} {vi} | {name} {vp} the {noun}
the {noun} {vi} {prep} the {noun} | {name} {vp} the {adj} {noun} {time}
the {adj} {noun} {vp} the {noun} {adv} | {name} {vi} at {place} {time}
the {noun} {prep} the {noun} {vp} a {adj} {noun} | {name} bought {num} {noun}s at {place}
please {vb} the {adj} {noun} {prep} the {noun} | we {vp} the {noun} {prep} {place} {time}
the {adj} {noun} {vp} the {adj} {noun} {prep} the {noun}
{name} and {name} {vp} {num} {adj} {noun}s {time}
""")
QUESTIONS = _phrases("""
did {name} {vb} the {noun} | where did the {adj} {noun} go | who {vp} the {noun} {prep} the {noun}
will {name} {vb} the {adj} {noun} {time}
""")


def _fill(template: str, rng: np.random.Generator) -> str:
    slots = {
        "adj": ADJECTIVES,
        "noun": NOUNS,
        "place": PLACES,
        "name": NAMES,
        "vp": VERBS_PAST,
        "vb": VERBS_BASE,
        "vi": INTRANSITIVE_PAST,
        "adv": ADVERBS,
        "prep": PREPOSITIONS,
        "time": TIMES,
        "num": NUMBERS,
    }
    words: list[str] = []
    for token in template.split():
        if token.startswith("{") and token.endswith("s") and token[-2] == "}":  # "{noun}s": plural
            words.append(str(rng.choice(slots[token[1:-2]])) + "s")
        elif token.startswith("{"):
            words.append(str(rng.choice(slots[token[1:-1]])))
        else:
            words.append(token)
    return " ".join(words)


def make_sentence(rng: np.random.Generator, max_words: int) -> str:
    """A grammatical English sentence of at most about ``max_words`` words (at least one clause).

    Args:
        rng: the source of randomness.
        max_words: word budget; clauses are added while the sentence stays within it.

    Returns:
        A sentence starting with a capital letter and ending with "." (or "?" for a question).
    """
    if max_words <= 8 and rng.random() < 0.25:
        text = _fill(str(rng.choice(QUESTIONS)), rng)
        if len(text.split()) <= max_words:
            return text[0].upper() + text[1:] + "?"
    clauses: list[str] = []
    count = 0
    # each clause is the longest of a few random candidates that still fits the budget
    while True:
        candidates = [_fill(str(rng.choice(TEMPLATES)), rng) for _ in range(6)]
        fitting = [c for c in candidates if count + len(c.split()) + (1 if clauses else 0) <= max_words]
        if not fitting:
            break
        clause = max(fitting, key=lambda c: len(c.split()))
        clauses.append(clause if not clauses else str(rng.choice(CONJUNCTIONS)) + " " + clause)
        count += len(clauses[-1].split())
    if not clauses:  # nothing fits: one short clause
        clauses.append(_fill(str(rng.choice(TEMPLATES[:3])), rng))
        count = len(clauses[0].split())
    # top up a short sentence with a time phrase (if it has none) or an adverb
    times = [t for t in TIMES if count + len(t.split()) <= max_words]
    if times and not any(t in " ".join(clauses) for t in TIMES):
        clauses[-1] += " " + str(rng.choice(times))
    elif count + 1 <= max_words:
        clauses[-1] += " " + str(rng.choice(ADVERBS))
    text = ", ".join(clauses) if len(clauses) > 2 else " ".join(clauses)
    return text[0].upper() + text[1:] + "."
