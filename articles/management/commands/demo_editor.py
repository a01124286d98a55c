"""manage.py demo_editor: a local editor account for trying the admin (`make run`).

Creates (or resets) the user `editor` with a freshly generated password, prints
it once, and puts the account in the Editors group. Refuses to run with DEBUG
off: production accounts are made with createsuperuser, not with this.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create or reset the local demo editor account and print its new password."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="editor")
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_editor is for local development only (DJANGO_DEBUG=1).")
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=options["username"])
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        group = Group.objects.filter(name="Editors").first()
        if group:
            user.groups.add(group)
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin: {options['url']}  user: {user.username}  password: {password}"
            )
        )
