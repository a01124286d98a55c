"""Stories: one event, many outlets (issue 19).

The same event arrives from many outlets: syndicated copies of a wire story or a
press release, and different outlets' own reports. This package recognises them
and groups them into stories, openly (every grouping carries its score and the
signals behind it) and with editors in charge (their decisions are constraints).

    urlkeys (articles/urlkeys.py)   which URLs name the same article
    text                            the words compared, and the score of a pair
    grouping                        mentions, candidate search, placing, proposals
    decisions                       merge, split, lead, accept, dismiss
    reading                         URL-key lookups, outlet counts, JSON, rebuild
    evaluation                      precision and recall against labelled pairs

docs/stories.md explains the method, the thresholds and the measured quality;
"Wiring" there lists what the importer calls.
"""

from .decisions import DecisionError, accept, dismiss, merge, set_lead, split
from .grouping import assign_stories, refresh_stories
from .reading import (
    articles_by_url_keys,
    distinct_outlets,
    independent_outlets,
    link_coverage,
    rebuild,
    story_json,
    story_mates,
)

__all__ = [
    "DecisionError",
    "accept",
    "articles_by_url_keys",
    "assign_stories",
    "dismiss",
    "distinct_outlets",
    "independent_outlets",
    "link_coverage",
    "merge",
    "rebuild",
    "refresh_stories",
    "set_lead",
    "split",
    "story_json",
    "story_mates",
]
