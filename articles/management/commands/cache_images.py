"""Cache the images pages show, now, in this process: `manage.py cache_images`.

What the worker's once-a-minute sweep does in the background (register the image URLs
pages show, fetch those due), done at once and to the end: `make run` calls it after
loading the demo content, so the demo site has its pictures before the first page.
`--retry-failed` also tries again the images that failed for good.
"""

from django.core.management.base import BaseCommand

from ... import clock
from ...imagecache import cache
from ...models import ImageSource


class Command(BaseCommand):
    help = "Register and fetch the images pages show (what the sweep does, at once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--retry-failed", action="store_true", help="Also fetch images that failed for good."
        )

    def handle(self, *args, retry_failed=False, **options):
        now = clock.now()
        new = cache.discover(now)
        waiting = ImageSource.objects.exclude(status=ImageSource.Status.CACHED).filter(
            replaced=False
        )
        if not retry_failed:
            waiting = waiting.exclude(status=ImageSource.Status.FAILED, next_attempt_at=None)
        outcomes = {}
        for source_id in waiting.order_by("pk").values_list("pk", flat=True):
            outcome = cache.cache_source(source_id, force=retry_failed)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        self.stdout.write(f"{new} new image URLs; {summary or 'nothing to fetch'}.")
        failed = ImageSource.objects.filter(status=ImageSource.Status.FAILED)
        for url, reason in failed.values_list("url", "failure_reason")[:10]:
            self.stdout.write(f"  failed: {url}: {reason}")
