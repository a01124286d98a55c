"""manage.py rerank: recompute every article's heat and score (after a formula change)."""

from django.core.management.base import BaseCommand

from articles import ranking
from articles.models import Article
from articles.site.caching import invalidate_public_pages


class Command(BaseCommand):
    help = (
        "Recompute the heat and the Top score of every article with the current ranking "
        "formula (articles/ranking.py) and report how many moved. Run it after deploying "
        "a new formula version; scores otherwise follow their inputs by themselves."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would move; write nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
        moved = ranking.recompute(ids, dry_run=dry_run)
        if moved and not dry_run:
            invalidate_public_pages()  # bulk writes send no signal for the page cache
        if options["verbosity"] >= 1:
            verb = "would move" if dry_run else "moved"
            self.stdout.write(
                self.style.SUCCESS(
                    f"Formula version {ranking.VERSION}: {moved} of {len(ids)} articles {verb}."
                )
            )
