"""manage.py prune_revisions --keep N --older-than DAYS: drop old article revisions.

Deletes the revisions created more than DAYS days ago, except each article's last N
(so an article edited long ago keeps its recent history). What is kept still shows
its diffs and can be reverted to: each revision holds its own values before and
after (articles/revisions.py, docs/revisions.md).
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from articles import clock, revisions


def count(text):
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise CommandError(f"must be 0 or more: {value}")
    return value


class Command(BaseCommand):
    help = "Delete revisions older than --older-than days, keeping each article's last --keep."

    def add_arguments(self, parser):
        parser.add_argument("--keep", type=count, required=True, help="revisions kept per article")
        parser.add_argument(
            "--older-than", type=count, required=True, help="only revisions older than DAYS days"
        )

    def handle(self, *args, keep, older_than, **options):
        if keep < 1:
            raise CommandError("--keep must be at least 1: an article's last revision stays.")
        cutoff = clock.now() - dt.timedelta(days=older_than)
        deleted = revisions.prune(keep=keep, older_than=cutoff)
        self.stdout.write(f"Deleted {deleted} revisions older than {older_than} days.")
