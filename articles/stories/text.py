"""The words the story matching compares, and how two mentions are scored.

Pure Python, no database: `features(title, excerpt)` turns a headline and its
excerpt into three small word sets, stored with each mention as one line of text
(`encode` / `decode`), and `Scorer` says how alike two mentions are, with the
signals that produced the score.

Signals (each in 0..1), on short news text:

- `title`: IDF-weighted Jaccard of the two headlines' words. Syndicated copies
  (the same wire story or press release under another outlet's name) score
  0.8 and more: that is the `copy` signal, and it alone is enough.
- `text`: IDF-weighted cosine of headline and excerpt words together: the same
  event told in different words shares its nouns and numbers.
- `names`: how much of the rarer side's distinctive names (companies, products,
  people, places, amounts) the other side mentions: `Nvidia`, `Arm`, `40 billion`.
- `listed`: one is in the other's coverage list (the upstream grouped them).
- `conflict`: both headlines carry distinctive names the other never mentions
  ("Amazon Keyspaces" against "Amazon A2I"): the same company or template, a
  different announcement. It is subtracted.

IDF ("inverse document frequency") is local: counted over the mentions of the
time window the comparison happens in (a name everybody mentions that week, like
"Nvidia" during its conference, weighs less), with a floor on the window's size
so that a nearly empty database does not make every word rare. Words common to
every AI-news headline (`GENERIC`) weigh a fixed little.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

# Function words: never compared.
_STOPWORDS = """a about above across after again against all almost also am among an and any are
    around as at back be because been before being below between both but by can could
    did do does doing down during each even ever every few for from further get gets
    got had has have having he her here hers him his how however i if in into is it its
    itself just last less like many may me might more most much must my near new next
    no nor not now of off on once one only or other our ours out over own per same says
    said say she should since so some still such than that the their theirs them then
    there these they this those though through thus to too under until up upon us very
    via vs was we were what when where whether which while who whom whose why will with
    within without would yet you your yours amid says according two three four five six
    seven eight nine ten first second third"""
# Words nearly every item of an AI-news site uses: they weigh GENERIC_WEIGHT, whatever
# the window says.
_GENERIC = """ai artificial intelligence machine learning deep neural network model technology
    tech data company companies news report market industry global use using used help
    helps world people year years today week time way make makes made how launch launches
    launched announce announces announced unveil unveils system systems platform tool
    tools solution solutions service services research researcher study based powered
    future business covid coronavirus 19 pandemic cagr forecast growth trend share size
    inc ltd corp llc thousand million billion monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october
    november december jan feb mar apr jun jul aug sep sept oct nov dec"""
GENERIC_WEIGHT = 0.3
# The window is taken to hold at least this many mentions when counting IDF.
MIN_WINDOW = 200
# At most this many excerpt words (and characters) are read: leads carry the names;
# the rest is noise, and reading it would cost the import.
EXCERPT_WORDS = 40
EXCERPT_CHARS = 240
COPY_TITLE = 0.8  # headline similarity from which two mentions are copies

_TOKEN = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([a-z]*)$")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_SCALE = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion"}
# Where a sentence (or a headline's part) ends: the next word starts one.
_SENTENCES = re.compile(r"(?<=[.!?:;|])\s+|\s+[-|]\s+")
_PUNCTUATION = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‐": "-", "–": "-", "—": "-"})


@dataclass(frozen=True)
class Features:
    """A mention's words: its headline's, its excerpt's, and the distinctive names
    among both (all normalised: lower case, singular, numbers as digits)."""

    title: frozenset
    excerpt: frozenset
    names: frozenset

    @cached_property
    def words(self) -> frozenset:
        return self.title | self.excerpt

    @cached_property
    def encoded(self) -> str:
        """`encode(self)`, computed once (a parse worker computes it before sending)."""
        return encode(self)

    @cached_property
    def blocks(self) -> frozenset:
        """The words candidates are blocked on: the headline's and the names."""
        return (self.title | self.names) - GENERIC


EMPTY = Features(frozenset(), frozenset(), frozenset())


def features(title: str, excerpt: str = "") -> Features:
    """The Features of a headline and its excerpt."""
    title_words, title_names = _words(title or "", headline=True)
    excerpt_words, excerpt_names = _words(
        (excerpt or "")[:EXCERPT_CHARS], headline=False, limit=EXCERPT_WORDS
    )
    return Features(
        frozenset(title_words),
        frozenset(excerpt_words) - frozenset(title_words),
        frozenset(title_names | excerpt_names),
    )


def encode(value: Features) -> str:
    """Features as one line of text, for the mention's `features` column."""
    return "|".join(" ".join(sorted(part)) for part in (value.title, value.excerpt, value.names))


def decode(text: str) -> Features:
    if not text:
        return EMPTY
    parts = text.split("|")
    if len(parts) != 3:
        return EMPTY
    title, excerpt, names = (frozenset(part.split()) for part in parts)
    return Features(title, excerpt, names)


def _words(text: str, *, headline: bool, limit: int | None = None):
    """(words in order, distinctive names) of `text`."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION)
    known = _TOKENS
    sentences = []
    for sentence in _SENTENCES.split(text):
        described = []
        for token in _TOKEN.findall(sentence):
            found = known.get(token)
            if found is None:
                if len(known) > TOKEN_CACHE:
                    known.clear()
                found = known[token] = _token(token)
            described.append(found)
        sentences.append(described)
    title_case = False
    if headline:
        kinds = [kind for described in sentences for _, kind, long_word in described if long_word]
        capitalised = sum(kind != LOWER for kind in kinds)
        title_case = bool(kinds) and capitalised >= 0.6 * len(kinds)
    words, names = [], set()
    for described in sentences:
        first = True
        for normalised, kind, _ in described:
            if kind == NAME or (kind == CAPITAL and not first and not title_case):
                names.update(n for n in normalised if n not in STOPWORDS and n not in GENERIC)
            first = False
            for word in normalised:
                if word not in STOPWORDS:
                    words.append(word)
        if limit is not None and len(words) >= limit:
            break
    return words, names


LOWER, CAPITAL, NAME = "lower", "capital", "name"


_TOKENS: dict = {}  # raw token -> _token(token), for the next mention with it
TOKEN_CACHE = 200_000


def _token(token: str):
    """(normalised words, kind, whether a long plain word) of a raw token.

    The kind is NAME for numbers (but not years), all-caps words and inner capitals
    (NVIDIA, AWS, OpenAI, A2I), CAPITAL for a capitalised word (a name unless it
    starts a sentence or the headline capitalises every word), LOWER otherwise.
    """
    if any(c.isdigit() for c in token):
        kind = LOWER if _YEAR.match(token) else NAME
    elif len(token) >= 2 and (token.isupper() or any(c.isupper() for c in token[1:])):
        kind = NAME
    elif token[0].isupper():
        kind = CAPITAL
    else:
        kind = LOWER
    return _normalise(token), kind, len(token) > 3 and token.isalpha()


def _normalise(token: str):
    """The word(s) a raw token stands for: `Nvidia's` -> ("nvidia",), `$40B` ->
    ("40", "billion"), `U.S.` -> ("us",), `cameras` -> ("camera",); () for none."""
    word = token.lower()
    if word.endswith(("'s", "'")):
        word = word.rsplit("'", 1)[0]
    if any(c.isdigit() for c in word):
        word = word.replace(",", "")
        match = _NUMBER.match(word)
        if match:
            number, suffix = match.groups()
            if number.endswith(".0"):
                number = number[:-2]
            scale = _SCALE.get(suffix)
            return (number, scale) if scale else ((number,) if not suffix else (word,))
        return (word.replace(".", ""),)
    word = word.replace(".", "").replace("'", "")
    if not word:
        return ()
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return (word,)


def _word_set(words: str) -> frozenset:
    """The words of a list as the matching sees them (both spellings kept)."""
    found = set()
    for word in words.split():
        found.add(word)
        found.update(_normalise(word))
    return frozenset(found)


STOPWORDS = _word_set(_STOPWORDS)
GENERIC = _word_set(_GENERIC)


@dataclass(frozen=True)
class Match:
    """How alike two mentions are: the score and the signals behind it."""

    score: float
    signals: dict


# How the signals add up (see docs/stories.md for how they were chosen).
WEIGHTS = {"title": 0.45, "text": 0.35, "names": 0.25, "listed": 0.0, "conflict": 0.3}
NO_NAMES = 0.5  # the score is multiplied by this when the two share no name


class Scorer:
    """Scores pairs of mentions with the IDF of the mentions it was given.

    `documents` are the Features of every mention of the window (candidates and the
    new ones alike); the IDF of their words is computed once, and each mention's
    weights once (`_prepared`), so that scoring a pair is a few set intersections.
    """

    def __init__(self, documents):
        frequency, as_name = {}, {}
        count = 0
        for doc in documents:
            count += 1
            for word in doc.words:
                frequency[word] = frequency.get(word, 0) + 1
            for word in doc.names:
                as_name[word] = as_name.get(word, 0) + 1
        self.size = max(count, MIN_WINDOW)
        self.frequency = frequency
        # Words the window mostly writes as names: a capitalised headline word that is
        # one of these counts as a name too ("Delhi Airport Evaluating ...").
        self.lexicon = {
            word for word, named in as_name.items() if named * 2 >= frequency.get(word, named)
        }
        top = math.log(self.size + 1)
        self._idf = {
            word: GENERIC_WEIGHT if word in GENERIC else top - math.log(df + 1) + 1
            for word, df in frequency.items()
        }
        self._unseen = top + 1  # a word no document of the window has
        self._rare = math.log(self.size / 3) + 1  # a word of at most a few mentions
        self._cache = {}

    def idf(self, word: str) -> float:
        weight = self._idf.get(word)
        if weight is None:
            weight = GENERIC_WEIGHT if word in GENERIC else self._unseen
        return weight

    def weight(self, words) -> float:
        idf = self._idf
        unseen = self._unseen
        return sum(idf.get(w, unseen) for w in words)

    def names(self, features: Features) -> frozenset:
        """The mention's names, with its headline words the window knows as names."""
        return features.names | (features.title & self.lexicon)

    def _prepared(self, features: Features):
        found = self._cache.get(id(features))
        if found is None or found[0] is not features:
            names = self.names(features)
            words = features.words
            found = (
                features,
                names,
                words,
                self.weight(features.title),
                self.weight(words),
                self.weight(names),
                frozenset(n for n in names & features.title if _nameword(n)),
            )
            self._cache[id(features)] = found
        return found

    def score(self, one: Features, other: Features, *, listed=False, keep=0.0) -> Match:
        """The Match of two mentions; its signals only when the score reaches `keep`."""
        _, names_one, words_one, title_one, all_one, named_one, headline_one = self._prepared(one)
        _, names_other, words_other, title_other, all_other, named_other, headline_other = (
            self._prepared(other)
        )
        weight = self.weight
        shared_title = one.title & other.title
        shared_weight = weight(shared_title)
        union = title_one + title_other - shared_weight
        title = shared_weight / union if union else 0.0
        norm = math.sqrt(all_one * all_other)
        text = weight(words_one & words_other) / norm if norm else 0.0
        names = 0.0
        shared = frozenset()
        if names_one and names_other:
            shared = (names_one & words_other) | (names_other & words_one)
            smaller = min(named_one, named_other)
            names = min(1.0, weight(shared) / smaller) if smaller else 0.0
        conflict = self._conflict(headline_one - words_other, headline_other - words_one)
        copy = title >= COPY_TITLE and len(shared_title) >= 3
        score = (
            WEIGHTS["title"] * title
            + WEIGHTS["text"] * text
            + WEIGHTS["names"] * names
            + (WEIGHTS["listed"] if listed else 0.0)
            - WEIGHTS["conflict"] * conflict
        )
        if not names and not copy:
            score *= NO_NAMES  # nothing distinctive in common: a template, a theme
        if copy:
            score = max(score, 0.95)
        score = round(max(0.0, min(1.0, score)), 3)
        if score < keep:
            return Match(score, {})
        signals = {"title": round(title, 3), "text": round(text, 3), "names": round(names, 3)}
        if copy:
            signals["copy"] = True
        if listed:
            signals["listed"] = True
        if conflict:
            signals["conflict"] = round(conflict, 3)
        if shared:
            signals["shared"] = sorted(shared, key=self.idf, reverse=True)[:6]
        return Match(score, signals)

    def _conflict(self, missing_one, missing_other) -> float:
        """0..1: how much each headline's names are missing from the other side.

        Only names that are rare in the window count fully; it takes both sides to
        have some, since one headline naming more than the other is no contradiction.
        """
        if not missing_one or not missing_other:
            return 0.0
        rare, idf = self._rare, self.idf
        one_weight = sum(min(idf(n), rare) for n in missing_one) / rare
        other_weight = sum(min(idf(n), rare) for n in missing_other) / rare
        return min(1.0, one_weight, other_weight)


def _nameword(word: str) -> bool:
    """Names that can contradict each other: words, not numbers ("10 things" and
    "$40 billion" are no two different subjects)."""
    return len(word) >= 3 and not word[0].isdigit()


def copies(one: Features, other: Features) -> bool:
    """Whether two mentions are copies of one text (unweighted, for counting outlets)."""
    union = one.title | other.title
    if len(union) < 3:
        return False
    return len(one.title & other.title) / len(union) >= COPY_TITLE
