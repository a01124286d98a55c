"""Quality of the story grouping on the real corpus: pairwise precision and recall.

    .venv/bin/python bench/stories_quality.py
    .venv/bin/python bench/stories_quality.py --corpus ../shared/corpus/news --show

Imports the corpus into a scratch SQLite database with the importer, groups each
import batch as the import does (`articles.stories.assign_stories`), then compares
the stories with the labelled set (tests/data/stories/labels.json; the method is in
docs/stories.md and articles/stories/evaluation.py). `--show` lists the wrong pairs.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "news"
DEFAULT_LABELS = ROOT / "tests" / "data" / "stories" / "labels.json"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--show", action="store_true", help="list the pairs it got wrong")
    parser.add_argument("--stories", action="store_true", help="list the stories formed")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        parser.error(f"no corpus at {args.corpus}")

    workdir = tempfile.mkdtemp(prefix="newsroom-stories-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/quality.sqlite3"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("newsroom.import").setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from articles.ingest.importer import Importer
    from articles.stories.evaluation import evaluate

    Importer().run([str(args.corpus)])
    figures = evaluate(args.labels, args.corpus)
    print(f"story grouping on {figures.items} corpus items (pairs that cross files):")
    print(
        f"precision {figures.precision:.3f} ({figures.true_positives} of "
        f"{figures.true_positives + figures.false_positives} grouped pairs right), "
        f"recall {figures.recall:.3f} ({figures.true_positives} of "
        f"{figures.true_positives + figures.false_negatives} same-story pairs found); "
        f"labelled look-alikes grouped: {figures.apart_grouped} of {figures.apart_total}"
    )
    print(
        "counting the pairs inside one file's list too: precision "
        f"{figures.every_pair[0]:.3f}, recall {figures.every_pair[1]:.3f}"
    )
    if args.stories:
        from articles.models import Story

        for story in Story.objects.prefetch_related("mentions"):
            print(f"story {story.pk}:")
            for m in story.mentions.all():
                print(f"  {m.kind[:3]} {m.article_id:4} {m.score} {m.key[:90]} {m.signals}")
    if args.show:
        for title, pairs in (
            ("grouped but different:", figures.false_positive_pairs),
            ("same story, not grouped:", figures.false_negative_pairs),
        ):
            print(title)
            for one, other in pairs:
                print(f"  {one}\n    {other}")
        print("labelled look-alikes grouped (in one file's list: not counted above):")
        for one, other, reason, crosses in figures.apart_grouped_pairs:
            where = "crosses files" if crosses else "one file"
            print(f"  [{where}] {reason}\n    {one}\n    {other}")


if __name__ == "__main__":
    main()
