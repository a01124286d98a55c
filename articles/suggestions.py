"""Topic suggestions from the taxonomy, with the words that produced them.

Each topic brings its terms: its name, its keywords and its hashtags (split at capitals:
"#ComputerVision" is "computer vision"). A term matches an item's text by these rules:

- A short term (three letters or fewer) or one written in capitals is an acronym and
  matches only in capitals: "AI" is not the "Ai" of "Ai Weiwei", "ML" not "ml".
- Any other term matches whatever the case, word by word, on light stems (so "ethics",
  "ethical" and "ethically" are one word, "chips" is "chip"); a one-word term also
  matches the same word split in two ("healthcare" in "health care").

An item's score for a topic adds, for each part of the item, the part's weight times
the number of matches (at most 3): the title weighs 2, the excerpt 1, the other
outlets' coverage (their titles and excerpts) 0.5. A topic is *offered* (ticked by
default on the desk) from OFFER_SCORE, that is one match in the title or two in the
excerpt, if it leads: of the topics under a root, only the best-scoring one and a
runner-up within RUNNER_UP_SHARE of it are ticked, since an item is about one subject
and seldom two (the corpus's editors chose one topic besides the root for 103 of its
144 items, two for 7). A topic offered brings its parent topics, marked as such. The
rest are shown as weaker suggestions, not ticked.

Measured on the real corpus by bench/topic_suggestions.py (docs/suggestions.md).
Pure Python: no database, so the desk, `manage.py suggest_topics` and the measurement
share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

TITLE_WEIGHT = 2.0
EXCERPT_WEIGHT = 1.0
COVERAGE_WEIGHT = 0.5
MAX_COUNTED_MATCHES = 3
OFFER_SCORE = 2.0
MAX_OFFERED = 2
RUNNER_UP_SHARE = 0.75

# Light stemming: enough to join the forms news text uses, never below 4 letters.
_SUFFIXES = ("ically", "ical", "ally", "ics", "ic", "ies", "es", "s", "al")
_MIN_STEM = 4
_WORD = re.compile(r"[A-Za-z0-9]+")
_HASHTAG_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def stem(word: str) -> str:
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def hashtag_words(hashtag: str) -> str:
    """ "#ComputerVision" -> "Computer Vision"; "#AI" -> "AI"; "#fintech" -> "fintech"."""
    return " ".join(_HASHTAG_PART.findall(hashtag.lstrip("#"))) or hashtag.lstrip("#")


@dataclass(frozen=True)
class Term:
    """One way a topic is named, as the matcher compares it."""

    text: str  # as the taxonomy writes it
    acronym: str = ""  # set for acronyms: matched in capitals only
    stems: tuple[str, ...] = ()  # otherwise: the words' stems, in order

    @classmethod
    def of(cls, text: str) -> Term | None:
        words = _WORD.findall(text)
        if not words:
            return None
        if len(words) == 1 and (len(words[0]) <= 3 or words[0].isupper()):
            return cls(text, acronym=words[0].upper())
        return cls(text, stems=tuple(stem(w) for w in words))


@dataclass(frozen=True)
class TopicTerms:
    name: str
    parent: str | None
    terms: tuple[Term, ...]


@dataclass
class Suggestion:
    topic: str
    score: float
    offered: bool
    matched: list[str] = field(default_factory=list)  # the words found, as the text has them
    parent_of: str = ""  # set when suggested as the parent of an offered topic

    def to_dict(self) -> dict:
        return {
            "topic": self.topic,
            "score": self.score,
            "offered": self.offered,
            "matched": self.matched,
            **({"parent_of": self.parent_of} if self.parent_of else {}),
        }


def vocabulary(topics: Iterable) -> list[TopicTerms]:
    """The terms of each topic. `topics` are Topic rows or taxonomy entries: anything with
    `name`, `keywords`, `hashtags` and a parent (`parent.name`, or `parents[0]`)."""
    result = []
    for topic in topics:
        texts = [topic.name, *(topic.keywords or []), *map(hashtag_words, topic.hashtags or [])]
        terms = {term.text.lower(): term for term in map(Term.of, texts) if term}
        result.append(TopicTerms(topic.name, _parent_name(topic), tuple(terms.values())))
    return result


def _parent_name(topic) -> str | None:
    parent = getattr(topic, "parent", None)
    if parent is not None:
        return getattr(parent, "name", parent) or None
    parents = getattr(topic, "parents", None) or []
    return parents[0] if parents else None


def suggest(
    topics: list[TopicTerms], *, title: str, excerpt: str = "", coverage: Iterable[str] = ()
) -> list[Suggestion]:
    """Every topic with at least one match, best first; offered ones bring their parents."""
    parts = [
        (TITLE_WEIGHT, _Text(title)),
        (EXCERPT_WEIGHT, _Text(excerpt)),
        (COVERAGE_WEIGHT, _Text(" . ".join(coverage))),
    ]
    found: dict[str, Suggestion] = {}
    for topic in topics:
        score, matched = 0.0, []
        for weight, text in parts:
            count = 0
            for term in topic.terms:
                hits = text.find(term)
                count += len(hits)
                matched += [hit for hit in dict.fromkeys(hits) if hit not in matched]
            score += weight * min(count, MAX_COUNTED_MATCHES)
        if score:
            found[topic.name] = Suggestion(topic.name, score, score >= OFFER_SCORE, matched)
    parents = {topic.name: topic.parent for topic in topics}
    _offer_the_leading([s for s in found.values() if parents[s.topic]])
    for suggestion in [s for s in found.values() if s.offered]:
        parent, child = parents.get(suggestion.topic), suggestion.topic
        while parent and parent not in found:
            found[parent] = Suggestion(parent, 0.0, True, parent_of=child)
            parent, child = parents.get(parent), parent
        if parent and not found[parent].offered:
            found[parent].offered, found[parent].parent_of = True, child
    return sorted(found.values(), key=lambda s: (not s.offered, -s.score, s.topic))


def _offer_the_leading(suggestions: list[Suggestion]):
    """Of `suggestions` (topics under a root: the root topic, the site's own subject,
    is no rival), keep ticked only the best-scoring one and a runner-up that comes
    close (at least RUNNER_UP_SHARE of the best): an item is about one subject, seldom
    two."""
    ranked = sorted((s for s in suggestions if s.offered), key=lambda s: -s.score)
    for place, suggestion in enumerate(ranked):
        if place >= MAX_OFFERED or suggestion.score < RUNNER_UP_SHARE * ranked[0].score:
            suggestion.offered = False


class _Text:
    """A text split once into words and stems, for every term to search."""

    def __init__(self, text: str):
        self.words = _WORD.findall(text or "")
        self.stems = [stem(w) for w in self.words]

    def find(self, term: Term) -> list[str]:
        """The places `term` matches, as the text spells them."""
        words, stems = self.words, self.stems
        if term.acronym:
            return [w for w in words if w in (term.acronym, term.acronym + "s")]
        n = len(term.stems)
        hits = [
            " ".join(words[i : i + n])
            for i in range(len(stems) - n + 1)
            if tuple(stems[i : i + n]) == term.stems
        ]
        if n == 1:  # "healthcare" written "health care"
            hits += [
                f"{words[i]} {words[i + 1]}"
                for i in range(len(stems) - 1)
                if stems[i] + stems[i + 1] == term.stems[0]
            ]
        return hits
