"""manage.py stories: list the stories as JSON, or rebuild the grouping."""

import json

from django.core.management.base import BaseCommand, CommandError

from articles import stories
from articles.models import Story, StoryMention, StoryProposal


class Command(BaseCommand):
    help = (
        "Without options, count the stories and open proposals. --json prints every story "
        "of two articles or more as JSON (id, lead, articles, coverage, signals). --rebuild "
        "recomputes the automatic grouping and the proposals of every article (after a "
        "change of rules), keeping every editor's decision."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the stories as JSON.")
        parser.add_argument(
            "--rebuild", action="store_true", help="Recompute the grouping and the proposals."
        )

    def handle(self, **options):
        if options["json"] and options["rebuild"]:
            raise CommandError("Choose one of --json and --rebuild.")
        if options["rebuild"]:
            progress = None
            if options["verbosity"] >= 2:

                def progress(done, total):
                    self.stdout.write(f"{done}/{total} articles")

            totals = stories.rebuild(progress=progress)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Rebuilt the stories of {totals['articles']} articles: "
                    f"{Story.objects.count()} stories, "
                    f"{StoryProposal.objects.filter(status=StoryProposal.Status.OPEN).count()} "
                    "open proposals."
                )
            )
            return
        if options["json"]:
            self.stdout.write(json.dumps(stories.story_json(), indent=1, ensure_ascii=False))
            return
        articles = StoryMention.objects.filter(
            kind=StoryMention.Kind.ARTICLE, story__isnull=False
        ).count()
        open_count = StoryProposal.objects.filter(status=StoryProposal.Status.OPEN).count()
        self.stdout.write(
            f"{Story.objects.count()} stories holding {articles} articles; "
            f"{open_count} open proposals."
        )
