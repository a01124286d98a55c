"""Pairwise precision and recall of the story grouping against a labelled set.

The labelled set (tests/data/stories/labels.json) says which items of the real
corpus report the same story: `stories` are groups of URLs, every other pair is two
stories, `apart` names the look-alikes among those. An item is a URL key: a file's
article, or an entry of a file's coverage list (the same URL in two lists is one
item).

A pair counts only when it crosses files: a pair that one file holds (its article
and an entry of its list, or two entries of its list) was grouped by the upstream,
not by us. For each counted pair: grouped by us (the two items' mentions are in one
story) or not, against the same story in the labels or not.

`bench/stories_quality.py` imports the corpus into a scratch database, groups it as
the import does and prints these figures.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from ..ingest import itemfile
from ..models import StoryMention
from ..urlkeys import url_key


@dataclass
class Figures:
    true_positives: int
    false_positives: int
    false_negatives: int
    apart_grouped: int  # labelled look-alikes that were grouped
    apart_total: int
    items: int
    false_positive_pairs: list
    false_negative_pairs: list
    apart_grouped_pairs: list  # (url, url, reason, whether the pair crosses files)
    every_pair: tuple = (0.0, 0.0)  # (precision, recall) counting in-file pairs too

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def corpus_items(folder: Path) -> tuple[dict[str, set[str]], dict[str, str]]:
    """({item key: names of the files holding it}, {item key: a URL of it})."""
    files: dict[str, set[str]] = defaultdict(set)
    urls: dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.md")):
        result = itemfile.parse(str(path), path.read_bytes())
        if not isinstance(result, itemfile.Item):
            continue
        for url in [result.web_url, *(entry.url for entry in result.related)]:
            key = url_key(url)
            if key:
                files[key].add(path.name)
                urls.setdefault(key, url)
    return files, urls


def predicted_stories(keys) -> dict[str, int]:
    """{item key: story id} from the mentions in the database: an article's own
    mention decides; for a coverage item, the story most of its mentions are in."""
    votes: dict[str, Counter] = defaultdict(Counter)
    decided = {}
    for key, kind, story_id in StoryMention.objects.filter(story__isnull=False).values_list(
        "key", "kind", "story_id"
    ):
        if key not in keys:
            continue
        if kind != StoryMention.Kind.COVERAGE:
            decided[key] = story_id
        else:
            votes[key][story_id] += 1
    for key, counter in votes.items():
        decided.setdefault(key, counter.most_common(1)[0][0])
    return decided


def evaluate(labels_path: Path, corpus_folder: Path) -> Figures:
    labels = json.loads(Path(labels_path).read_text(encoding="utf-8"))
    files, urls = corpus_items(corpus_folder)
    truth = {}
    for number, story in enumerate(labels["stories"]):
        for url in story["urls"]:
            truth[url_key(url)] = number
    predicted = predicted_stories(set(files))

    def crosses(a, b):
        return not (files[a] & files[b])

    def same(mapping, a, b):
        return a in mapping and b in mapping and mapping[a] == mapping[b]

    true_pairs = _pairs(truth, files)
    found_pairs = _pairs(predicted, files)
    tp = {p for p in found_pairs if same(truth, *p) and crosses(*p)}
    fp = {p for p in found_pairs if not same(truth, *p) and crosses(*p)}
    fn = {p for p in true_pairs if not same(predicted, *p) and crosses(*p)}
    every_tp = len({p for p in found_pairs if same(truth, *p)})
    every = (
        every_tp / len(found_pairs) if found_pairs else 1.0,
        every_tp / len(true_pairs) if true_pairs else 1.0,
    )
    apart = [(url_key(p["a"]), url_key(p["b"]), p) for p in labels["apart"]]
    apart_grouped = [
        (p["a"], p["b"], p["reason"], crosses(a, b)) for a, b, p in apart if same(predicted, a, b)
    ]
    return Figures(
        true_positives=len(tp),
        false_positives=len(fp),
        false_negatives=len(fn),
        apart_grouped=len(apart_grouped),
        apart_total=len(apart),
        items=len(files),
        false_positive_pairs=sorted((urls[a], urls[b]) for a, b in fp),
        false_negative_pairs=sorted((urls[a], urls[b]) for a, b in fn),
        apart_grouped_pairs=apart_grouped,
        every_pair=every,
    )


def _pairs(mapping, files):
    groups = defaultdict(list)
    for key, group in mapping.items():
        if key in files:
            groups[group].append(key)
    return {tuple(sorted(pair)) for keys in groups.values() for pair in combinations(keys, 2)}
