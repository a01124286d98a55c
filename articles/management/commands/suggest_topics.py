"""manage.py suggest_topics [--json] PATH [PATH ...]: the topics the desk would suggest.

For each news file: the topics suggested from the taxonomy (articles/suggestions.py),
with their scores, whether they would be ticked by default, and the words that
matched. The taxonomy is the database's topics plus any taxonomy files among the
PATHs (read, not imported). Writes nothing.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from articles import suggestions
from articles.ingest import itemfile
from articles.ingest.sources import discover
from articles.models import Topic


def suggest_for_paths(paths, *, database_topics=True):
    """(items, errors): each news item of `paths` with its suggestions, and the files
    that could not be read, as one-line messages. The taxonomy is the taxonomy files
    among `paths`, plus the database's topics unless `database_topics` is False."""
    files, errors = discover(paths)
    entries, items = [], []
    for source in files:
        read = source.read(itemfile.DEFAULT_LIMITS.max_bytes)
        parsed = (
            read if isinstance(read, itemfile.FileError) else itemfile.parse(source.name, read[0])
        )
        if isinstance(parsed, itemfile.FileError):
            errors.append(parsed)
        elif isinstance(parsed, itemfile.TaxonomyEntry):
            if parsed.kind == "topic":
                entries.append(parsed)
        else:
            items.append(parsed)
    known = {entry.name for entry in entries}
    topics = list(entries)
    if database_topics:
        topics += [t for t in Topic.objects.select_related("parent") if t.name not in known]
    vocabulary = suggestions.vocabulary(topics)
    results = [
        {
            "path": item.path,
            "title": item.title,
            "topics": list(item.topics),
            "suggestions": [
                s.to_dict()
                for s in suggestions.suggest(
                    vocabulary,
                    title=item.title,
                    excerpt=item.excerpt,
                    coverage=[f"{c.title} . {c.excerpt}" for c in item.related],
                )
            ],
        }
        for item in items
    ]
    return results, [str(error) for error in errors]


class Command(BaseCommand):
    help = "Print the topics suggested for news files, with the words that matched."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--json", action="store_true", help="one JSON document")

    def handle(self, *args, paths, json: bool, **options):
        results, errors = suggest_for_paths(paths)
        for error in errors:
            self.stderr.write(error)
        if json:
            self.stdout.write(_dumps({"items": results, "errors": errors}))
        else:
            for result in results:
                offered = [s for s in result["suggestions"] if s["offered"]]
                shown = ", ".join(
                    f"{s['topic']} ({', '.join(s['matched']) or 'parent of ' + s['parent_of']})"
                    for s in offered
                )
                self.stdout.write(f"{result['path']}: {shown or 'no suggestion'}")
        if errors and not results:
            raise CommandError(f"{len(errors)} file(s) could not be read")


def _dumps(data):
    return json.dumps(data, ensure_ascii=False, indent=2)
