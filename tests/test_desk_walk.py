"""Publish / Reject / Save and next: the change form walks the list the editor came
from (articles/admin/desk.py)."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from tests.admin_support import change_url, changelist_url, form_data, make_staff
from tests.factories import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """Three articles waiting, oldest first, and one published."""
    start = timezone.now() - dt.timedelta(days=1)
    waiting = [
        make_article(f"Waiting {n}", status=Article.Status.REVIEW, published_at=start + dt.timedelta(hours=n))
        for n in range(3)
    ]  # fmt: skip
    make_article("Live already", status=Article.Status.PUBLISHED)
    return waiting


def walk(client, article, button, filters="status=review&o=2"):
    """Press `button` on `article`'s form opened from the list with `filters`."""
    url = f"{change_url(article)}?_changelist_filters={filters.replace('&', '%26').replace('=', '%3D')}"
    data = form_data(client.get(url), "article_form")
    for name in (
        "_save",
        "_continue",
        "_addanother",
        "_publish_next",
        "_reject_next",
        "_save_next",
    ):
        data.pop(name, None)  # a browser sends only the button pressed
    data[button] = "x"
    return client.post(url, data)


def target(response):
    parts = urlsplit(response.url)
    return parts.path, parse_qs(parts.query).get("_changelist_filters", [""])[0]


def test_publish_and_next_publishes_and_opens_the_next_of_the_list(editor, client, queue):
    # o=2: the queue ordered by its second column (the headline: published_at), oldest first.
    response = walk(client, queue[0], "_publish_next")
    assert response.status_code == 302
    assert target(response) == (change_url(queue[1]), "status=review&o=2")
    queue[0].refresh_from_db()
    assert queue[0].status == Article.Status.PUBLISHED and queue[0].went_live_at is not None
    entry = LogEntry.objects.get(object_id=str(queue[0].pk))
    assert entry.user == editor and "Status" in entry.get_change_message()


def test_the_message_links_to_the_live_page(editor, client, queue):
    response = walk(client, queue[0], "_publish_next")
    page = client.get(response.url)
    text = " ".join(str(m) for m in page.context["messages"])
    assert (
        f'Published “{queue[0].title}”. <a href="{queue[0].get_absolute_url()}">See it live</a>.'
        in text
    )


def test_reject_and_next_and_the_end_of_the_list(editor, client, queue):
    assert target(walk(client, queue[1], "_reject_next"))[0] == change_url(queue[2])
    response = walk(client, queue[2], "_reject_next")
    assert response.url == f"{changelist_url()}?status=review&o=2"  # the list, as it was
    assert Article.objects.filter(status=Article.Status.REJECTED).count() == 2


def test_save_and_next_keeps_the_status_and_follows_the_order(editor, client, queue):
    # o=-9: newest first, so after the newest (Waiting 2) comes Waiting 1.
    response = walk(client, queue[2], "_save_next", filters="status=review&o=-2")
    assert target(response)[0] == change_url(queue[1])
    assert Article.objects.get(pk=queue[2].pk).status == Article.Status.REVIEW


def test_a_contributor_has_no_publish_button_and_cannot_publish_by_crafting_it(client, queue):
    client.force_login(make_staff("carl", group="Contributors"))
    html = client.get(change_url(queue[0])).content.decode()
    assert 'name="_save_next"' in html and 'name="_publish_next"' not in html
    response = walk(client, queue[0], "_publish_next")
    assert response.status_code == 403
    assert Article.objects.get(pk=queue[0].pk).status == Article.Status.REVIEW


def test_no_save_and_add_another(editor, client, queue):
    html = client.get(change_url(queue[0])).content.decode()
    assert 'name="_addanother"' not in html and 'name="_publish_next"' in html


# -- related-story choices --------------------------------------------------------------------


def choices(client, term):
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "articles", "model_name": "article", "field_name": "related_stories",
         "term": term},
    )  # fmt: skip
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


def test_related_story_choices_say_outlet_date_and_status_best_match_first(editor, client):
    when = timezone.make_aware(dt.datetime(2026, 11, 30, 10, 0))
    make_article("Why chips matter", published_at=when, status=Article.Status.PUBLISHED)
    make_article(
        "Chips get faster", published_at=when - dt.timedelta(days=400), status=Article.Status.REVIEW
    )
    make_article("New chips", published_at=when - dt.timedelta(days=1))
    texts = choices(client, "chips")
    assert texts[0].startswith("Chips get faster — ")  # the title starts with the term
    assert texts[0].endswith(", 26 Oct 2025, in review")
    assert [t.split(" — ")[0] for t in texts[1:]] == ["Why chips matter", "New chips"]
    assert texts[1].endswith(", 30 Nov 2026, published")
