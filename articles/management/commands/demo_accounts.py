"""manage.py demo_accounts: the local accounts for trying the admin (`make run`).

Creates (or resets) an Editor (`editor`) and a Contributor (`contributor`), members of
the groups the data migration made and nothing more (no superuser: a newcomer sees
what an editor sees), each with a freshly generated password, and prints both in a
box, last, so they are easy to find. Refuses to run with DEBUG off: production
accounts are made with createsuperuser and the groups, not with this.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

ACCOUNTS = (("editor", "Editors"), ("contributor", "Contributors"))


class Command(BaseCommand):
    help = "Create or reset the local demo Editor and Contributor and print their passwords."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/")

    def handle(self, *args, url, **options):
        if not settings.DEBUG:
            raise CommandError("demo_accounts is for local development only (DJANGO_DEBUG=1).")
        lines = [f"The admin: {url}"]
        for username, group_name in ACCOUNTS:
            group = Group.objects.filter(name=group_name).first()
            if group is None:
                raise CommandError(f"The group {group_name!r} is missing: run migrate first.")
            password = secrets.token_urlsafe(12)
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = False
            user.set_password(password)
            user.save()
            user.groups.set([group])
            role = group_name.rstrip("s").lower()
            lines.append(f"{role:<12} user: {username:<12} password: {password}")
        width = max(map(len, lines))
        box = ["+" + "-" * (width + 2) + "+", *(f"| {line:<{width}} |" for line in lines)]
        box.append(box[0])
        self.stdout.write(self.style.SUCCESS("\n".join(box)))
