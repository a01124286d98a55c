"""How good are the desk's topic suggestions? Precision and recall against the topics
the real corpus's editors chose.

    DJANGO_DEBUG=1 .venv/bin/python bench/topic_suggestions.py ../shared/corpus

Reads the corpus's taxonomy and news files; uses no database. The
root topic (the one without a parent, "AI", on every item) is left out of the counts:
it is on every item and would flatter both figures. Counts pairs (item, topic):
precision = suggested and chosen / suggested; recall = suggested and chosen / chosen.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")


def measure(corpus: Path):
    from articles.management.commands.suggest_topics import suggest_for_paths

    # The corpus's own taxonomy only: the measurement needs no database.
    items, errors = suggest_for_paths(
        [str(corpus / "taxonomy"), str(corpus / "news")], database_topics=False
    )
    roots = _root_topics(corpus)
    rows = []
    for name, offered_only in (("offered by default", True), ("every suggestion", False)):
        hit = suggested = chosen = 0
        for item in items:
            truth = set(item["topics"]) - roots
            got = {
                s["topic"] for s in item["suggestions"] if s["offered"] or not offered_only
            } - roots
            hit += len(got & truth)
            suggested += len(got)
            chosen += len(truth)
        rows.append(
            (name, hit / suggested if suggested else 0.0, hit / chosen, hit, suggested, chosen)
        )
    return len(items), len(errors), rows


def _root_topics(corpus: Path):
    from articles.ingest import itemfile

    entries = [itemfile.read(p) for p in sorted((corpus / "taxonomy" / "topics").glob("*.yaml"))]
    return {e.name for e in entries if isinstance(e, itemfile.TaxonomyEntry) and not e.parents}


def main():
    import django

    django.setup()
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpus")
    items, errors, rows = measure(corpus)
    print(f"{items} items ({errors} unreadable files left out), root topic excluded")
    print(f"{'suggestions':<20} {'precision':>9} {'recall':>7}  (hits / suggested / chosen)")
    for name, precision, recall, hit, suggested, chosen in rows:
        print(f"{name:<20} {precision:>9.2f} {recall:>7.2f}  ({hit} / {suggested} / {chosen})")


if __name__ == "__main__":
    main()
