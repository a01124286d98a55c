"""Admin actions: one QuerySet call each, a count in the message, a history entry per change."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.test import Client

from articles.models import Article
from tests.admin_support import changelist_url
from tests.factories import make_article, make_topic

pytestmark = pytest.mark.django_db


def run_action(client, action, articles, **values):
    data = {"action": action, "_selected_action": [a.pk for a in articles], "index": 0}
    data.update({name: str(value) for name, value in values.items()})
    response = client.post(changelist_url(), data, follow=True)
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def history(article):
    return list(
        LogEntry.objects.filter(object_id=str(article.pk), action_flag=CHANGE).values_list(
            "change_message", flat=True
        )
    )


def test_publish_reports_count_and_logs_each_change(editor, client):
    drafts = [make_article(status=Article.Status.REVIEW) for _ in range(2)]
    live = make_article(status=Article.Status.PUBLISHED)

    messages = run_action(client, "publish", [*drafts, live])

    assert messages == ["Published 2 articles. 1 article already had that value."]
    for article in drafts:
        article.refresh_from_db()
        assert article.status == Article.Status.PUBLISHED
        assert article.went_live_at is not None
        assert history(article) == ["Set status to published."]
    assert history(live) == []
    assert LogEntry.objects.filter(user=editor).count() == 2


@pytest.mark.parametrize(
    ("action", "start", "end", "done"),
    [
        ("return_to_review", Article.Status.PUBLISHED, Article.Status.REVIEW, "Returned to review"),
        ("reject", Article.Status.REVIEW, Article.Status.REJECTED, "Rejected"),
    ],
)
def test_status_actions(editor, client, action, start, end, done):
    articles = [make_article(status=start) for _ in range(3)]
    assert run_action(client, action, articles) == [f"{done} 3 articles."]
    for article in articles:
        article.refresh_from_db()
        assert article.status == end
        assert history(article) == [f"Set status to {end}."]


def test_set_quality(editor, client):
    low, same = make_article(quality=10), make_article(quality=120)
    assert run_action(client, "set_quality", [low, same], value=120) == [
        "Set quality to 120 on 1 article. 1 article already had that value."
    ]
    low.refresh_from_db()
    assert low.quality == 120
    assert history(low) == ["Set quality to 120."]
    assert history(same) == []


def test_set_heat_minus_one_unpins(editor, client):
    """-1 (unknown) removes an editor's pin: the heat is the computed one again."""
    articles = [make_article(quality=50), make_article(quality=None)]
    Article.objects.filter(pk=articles[0].pk).set_heat(150)
    assert run_action(client, "set_heat", articles, value=-1) == [
        "Set heat to unknown on 1 article. 1 article already had that value."
    ]
    assert [(a.heat_pin, a.heat) for a in Article.objects.order_by("pk")] == [
        (None, 50),
        (None, None),
    ]
    assert history(articles[0]) == ["Set pinned heat to None."]


@pytest.mark.parametrize(
    ("action", "values", "message"),
    [
        ("set_quality", {}, "Nothing changed: choose a quality (0 or more) in the Value box"),
        ("set_quality", {"value": -4}, "Nothing changed: Quality must be 0 or more."),
        ("set_quality", {"value": "lots"}, "Nothing changed: Enter a whole number."),
        # Past a 32-bit column: the importer's bound, not an overflow (a 500 at 2**63).
        ("set_quality", {"value": 2**31}, "Nothing changed: Value must be at most 2,147,483,647."),
        ("set_quality", {"value": 2**63}, "Nothing changed: Value must be at most 2,147,483,647."),
        ("set_heat", {"value": 2**40}, "Nothing changed: Value must be at most 2,147,483,647."),
        ("set_heat", {"value": -2}, "Nothing changed: Heat must be -1 (unknown) or more."),
        ("add_topic", {}, "Nothing changed: choose a topic in the Topic menu"),
        ("remove_topic", {"topic": 999999}, "Nothing changed: Select a valid choice."),
    ],
)
def test_actions_refuse_missing_or_bad_values(editor, client, action, values, message):
    article = make_article(quality=10, heat=10)
    messages = run_action(client, action, [article], **values)
    assert len(messages) == 1 and messages[0].startswith(message)
    article.refresh_from_db()
    assert (article.quality, article.heat) == (10, 10)
    assert history(article) == []


def test_add_and_remove_topic(editor, client):
    vision = make_topic("Vision")
    tagged = make_article(topics=[vision])
    untagged = make_article()

    assert run_action(client, "add_topic", [tagged, untagged], topic=vision.pk) == [
        "Added “Vision” to 1 article. 1 article already had that value."
    ]
    assert list(untagged.topics.all()) == [vision]
    assert history(untagged) == ["Added topic “Vision”."]

    assert run_action(client, "remove_topic", [tagged, untagged], topic=vision.pk) == [
        "Removed “Vision” from 2 articles."
    ]
    assert not Article.objects.filter(topics=vision).exists()
    assert history(tagged) == ["Removed topic “Vision”."]


@pytest.mark.parametrize("action", ["add_topic", "remove_topic"])
def test_topic_actions_forget_the_cached_public_pages(
    editor, client, settings, action, django_capture_on_commit_callbacks
):
    """Both write link rows in bulk (no m2m signal): the change they record invalidates,
    once the action's transaction commits."""
    settings.NEWSROOM_PAGE_CACHE = True
    vision = make_topic("Vision", slug="vision")
    article = make_article("Seeing machines", topics=[vision] if action == "remove_topic" else [])
    reader = Client()
    before = "/topics/vision/" in reader.get("/").content.decode()  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, action, [article], topic=vision.pk)

    after = "/topics/vision/" in reader.get("/").content.decode()
    assert (before, after) == ((False, True) if action == "add_topic" else (True, False))


def test_action_form_offers_values_and_topics(editor, client):
    make_topic("Vision")
    make_article()
    html = client.get(changelist_url()).content.decode()
    assert "Value (for set quality/heat):" in html
    assert "Topic (for add/remove topic):" in html and ">Vision</option>" in html
