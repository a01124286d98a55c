"""Who may reach the admin, and who may change an article's status.

Changing the status (publish, reject, return to review) needs `articles.publish_article`.
Contributors edit everything else; no page, action or crafted POST lets them change it.
"""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.sites import site
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from articles.models import Article
from tests.admin_support import (
    change_url,
    changelist_row_prefix,
    changelist_url,
    editorial_group,
    form_data,
    make_staff,
)
from tests.factories import make_article, make_provider

pytestmark = pytest.mark.django_db

STATUS_ACTIONS = {"publish", "return_to_review", "reject"}
VALUE_ACTIONS = {"set_quality", "set_heat", "add_topic", "remove_topic"}


@pytest.fixture
def contributor(client):
    user = make_staff("connie", group="Contributors")
    client.force_login(user)
    return user


def action_names(client):
    choices = client.get(changelist_url()).context["action_form"].fields["action"].choices
    return {name for name, _ in choices if name}


# The groups from migration 0002 ------------------------------------------------------


def test_groups_split_publishing_from_editing():
    editors = set(editorial_group("Editors").permissions.values_list("codename", flat=True))
    contributors = set(
        editorial_group("Contributors").permissions.values_list("codename", flat=True)
    )
    assert {"publish_article", "add_article", "change_article", "delete_article"} <= editors
    assert {"view_article", "change_article", "view_importrun"} <= contributors
    assert not {"publish_article", "add_article", "delete_article"} & contributors
    assert not {"add_importrun", "change_importrun", "delete_importrun"} & (editors | contributors)


# Actions ----------------------------------------------------------------------------


def test_contributor_has_no_status_actions(contributor, client):
    make_article()
    assert action_names(client) == VALUE_ACTIONS


def test_editor_has_every_action(client):
    client.force_login(make_staff("eddie", group="Editors"))
    make_article()
    assert action_names(client) == STATUS_ACTIONS | VALUE_ACTIONS | {"delete_selected"}


@pytest.mark.parametrize("action", sorted(STATUS_ACTIONS))
def test_contributor_crafted_status_action_is_refused(contributor, client, action):
    article = make_article(status=Article.Status.REVIEW)
    other = make_article(status=Article.Status.PUBLISHED)
    client.post(
        changelist_url(),
        {"action": action, "_selected_action": [article.pk, other.pk], "index": 0},
    )
    article.refresh_from_db()
    other.refresh_from_db()
    assert (article.status, other.status) == (Article.Status.REVIEW, Article.Status.PUBLISHED)
    assert not LogEntry.objects.exists()


def test_contributor_may_run_value_actions(contributor, client):
    article = make_article(quality=1)
    client.post(
        changelist_url(),
        {"action": "set_quality", "_selected_action": [article.pk], "value": "70", "index": 0},
    )
    article.refresh_from_db()
    assert article.quality == 70


# The article form -----------------------------------------------------------------------


def test_contributor_sees_status_locked_to_its_value(contributor, client):
    article = make_article(status=Article.Status.REVIEW)
    status = client.get(change_url(article)).context["adminform"].form.fields["status"]
    assert status.disabled
    assert [value for value, _ in status.choices] == [Article.Status.REVIEW]


def test_editor_may_choose_any_status(client):
    client.force_login(make_staff("eddie", group="Editors"))
    article = make_article(status=Article.Status.REVIEW)
    status = client.get(change_url(article)).context["adminform"].form.fields["status"]
    assert not status.disabled
    assert {value for value, _ in status.choices} == set(Article.Status.values)


@pytest.mark.parametrize("start", [Article.Status.REVIEW, Article.Status.PUBLISHED])
def test_contributor_crafted_change_form_post_keeps_status(contributor, client, start):
    article = make_article(status=start, quality=5)
    data = form_data(client.get(change_url(article)), "article_form")
    assert "status" not in data  # a disabled field: browsers do not send it
    data["status"] = (
        Article.Status.REJECTED if start == Article.Status.PUBLISHED else Article.Status.PUBLISHED
    )
    data["quality"] = "42"

    response = client.post(change_url(article), data)

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == start
    assert article.quality == 42  # the rest of the edit is kept


def test_editor_publishes_through_the_form(client):
    client.force_login(make_staff("eddie", group="Editors"))
    article = make_article(status=Article.Status.REVIEW)
    data = form_data(client.get(change_url(article)), "article_form")
    data["status"] = Article.Status.PUBLISHED
    assert client.post(change_url(article), data).status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert article.went_live_at is not None
    assert LogEntry.objects.get(object_id=str(article.pk)).get_change_message() == (
        "Changed Status."
    )


def test_adding_without_publish_right_starts_in_review(client):
    # Add + change, but no publish: the add form cannot create a published item.
    client.force_login(make_staff("adam", perms=["add_article", "change_article", "view_provider"]))
    url = reverse("admin:articles_article_add")
    data = form_data(client.get(url), "article_form")
    data.update(
        {
            "title": "Sneaky",
            "web_url": "https://example.com/sneaky",
            "provider": str(make_provider().pk),
            "published_at_0": "2026-01-02",
            "published_at_1": "10:00:00",
            "status": Article.Status.PUBLISHED,
        }
    )
    assert client.post(url, data).status_code == 302
    article = Article.objects.get(title="Sneaky")
    assert article.status == Article.Status.REVIEW
    assert article.went_live_at is None


def test_contributor_cannot_add_or_delete(contributor, client):
    article = make_article()
    assert client.get(reverse("admin:articles_article_add")).status_code == 403
    delete = reverse("admin:articles_article_delete", args=[article.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Article.objects.filter(pk=article.pk).exists()


def test_contributor_crafted_changelist_post_cannot_publish(contributor, client):
    article = make_article(status=Article.Status.REVIEW, quality=5)
    data = form_data(client.get(changelist_url()), "changelist-form")
    row = changelist_row_prefix(data, article)
    data.update({f"{row}-status": Article.Status.PUBLISHED, f"{row}-quality": "6", "_save": "Save"})
    assert client.post(changelist_url(), data).status_code == 302
    article.refresh_from_db()
    assert (article.status, article.quality) == (Article.Status.REVIEW, 6)


def test_save_model_refuses_a_status_change_without_the_right(contributor):
    # The last line of defence, whatever a future form might let through.
    article = make_article(status=Article.Status.REVIEW)
    article.status = Article.Status.PUBLISHED
    request = RequestFactory().post("/")
    request.user = contributor
    model_admin = site._registry[Article]
    form = model_admin.get_form(request, article)(instance=article)
    with pytest.raises(PermissionDenied):
        model_admin.save_model(request, article, form, change=True)
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW


# Who reaches the admin ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/articles/article/",
        "/admin/articles/importrun/",
        "/admin/articles/article/1/preview/",
    ],
)
def test_anonymous_and_non_staff_are_sent_to_login(client, django_user_model, url):
    make_article()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

    member = django_user_model.objects.create_user("reader", password="pw")
    member.user_permissions.add(*editorial_group("Editors").permissions.all())
    client.force_login(member)  # every article permission, but not staff
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_article_rights_cannot_preview(client):
    client.force_login(make_staff("stranger"))
    draft = make_article(status=Article.Status.REVIEW)
    response = client.get(reverse("admin:articles_article_preview", args=[draft.pk]))
    assert response.status_code == 403


def test_contributor_previews_and_reads_import_runs(contributor, client):
    draft = make_article(status=Article.Status.REVIEW)
    assert client.get(reverse("admin:articles_article_preview", args=[draft.pk])).status_code == 200
    assert client.get(reverse("admin:articles_importrun_changelist")).status_code == 200
