"""manage.py demo_accounts: the Editor and Contributor that `make run` prints."""

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def run():
    out = io.StringIO()
    call_command("demo_accounts", "--url", "http://127.0.0.1:8765/admin/", stdout=out)
    return out.getvalue()


def printed_passwords(output):
    return dict(re.findall(r"user: (\w+)\s+password: (\S+)", output))


def test_an_editor_and_a_contributor_in_their_groups_not_superusers(settings):
    settings.DEBUG = True
    output = run()
    passwords = printed_passwords(output)
    assert set(passwords) == {"editor", "contributor"}
    for username, group in (("editor", "Editors"), ("contributor", "Contributors")):
        user = authenticate(username=username, password=passwords[username])
        assert user is not None and user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [group]
    editor = authenticate(username="editor", password=passwords["editor"])
    assert editor.has_perm("articles.publish_article")
    contributor = authenticate(username="contributor", password=passwords["contributor"])
    assert not contributor.has_perm("articles.publish_article")


def test_they_are_printed_last_in_a_box(settings):
    settings.DEBUG = True
    lines = run().strip().splitlines()
    assert lines[0].startswith("+-") and lines[-1] == lines[0]
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[1:-1])
    assert "http://127.0.0.1:8765/admin/" in lines[1]


def test_running_again_resets_the_passwords(settings):
    settings.DEBUG = True
    first = printed_passwords(run())
    second = printed_passwords(run())
    assert first["editor"] != second["editor"]
    assert authenticate(username="editor", password=first["editor"]) is None
    assert authenticate(username="editor", password=second["editor"]) is not None


def test_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="local development only"):
        run()
