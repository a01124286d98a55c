"""manage.py export_yaml DIR: write articles back as Markdown files with YAML front matter."""

from django.core.management.base import BaseCommand, CommandError

from articles.ingest.exporter import export
from articles.models import Article


class Command(BaseCommand):
    help = (
        "Write every article (or those matching the filters) to DIR as <slug>.md, in the "
        "same format import_yaml reads. Importing the export gives the same articles."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="Folder to write into (created if missing).")
        parser.add_argument(
            "--status", choices=[s.value for s in Article.Status], help="Only this status."
        )
        parser.add_argument("--topic", help="Only articles with this topic (slug).")
        parser.add_argument("--provider", help="Only articles from this provider (domain).")
        parser.add_argument("--since", help="Only articles published on or after YYYY-MM-DD.")

    def handle(self, directory, **options):
        articles = Article.objects.all()
        if options["status"]:
            articles = articles.filter(status=options["status"])
        if options["topic"]:
            articles = articles.filter(topics__slug=options["topic"])
        if options["provider"]:
            articles = articles.filter(provider__domain=options["provider"])
        if options["since"]:
            from django.utils.dateparse import parse_date

            since = parse_date(options["since"])
            if since is None:
                raise CommandError(f"--since {options['since']!r} is not a date (YYYY-MM-DD).")
            articles = articles.filter(published_at__date__gte=since)
        try:
            count = export(articles.order_by("published_at", "id"), directory)
        except OSError as exc:
            raise CommandError(f"cannot write to {directory}: {exc.strerror or exc}") from None
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(f"Exported {count} articles to {directory}"))
