"""The review screen's help for a fast decision (articles/admin/desk.py): suggested
topics with their reasons, added in one tick; the place in the list with previous and
next links (the keyboard's j and k); a constant number of queries."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from articles.models import Article
from tests.admin_support import change_url, form_data
from tests.factories import make_article, make_coverage, make_topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxonomy():
    machine_learning = make_topic("Machine Learning", keywords=["neural network"])
    return {
        "robotics": make_topic("Robotics", keywords=["humanoid"], hashtags=["#RobotArms"]),
        "ml": machine_learning,
        "deep": make_topic("Deep Learning", parent=machine_learning, keywords=["transformer"]),
        "ai": make_topic("AI"),
        "quantum": make_topic("Quantum Computing"),
    }


def suggested(response):
    """The suggestion checkboxes: {topic name: (label, ticked)}."""
    field = response.context["adminform"].form["suggested_topics"]
    ticked = set(field.value() or [])
    return {value: (label, value in ticked) for value, label in field.field.choices}


def test_the_review_screen_suggests_topics_with_the_words_that_matched(editor, client, taxonomy):
    article = make_article(
        "A humanoid learns to fold shirts",
        excerpt="The transformer behind it was trained on robot arms.",
        status=Article.Status.REVIEW,
        topics=[taxonomy["robotics"]],
    )
    make_coverage(article, title="Ai Weiwei reviews the humanoid", excerpt="")
    found = suggested(client.get(change_url(article)))
    # Robotics is on the article already; "Ai" is not the acronym AI; a weak suggestion
    # brings no parent.
    assert set(found) == {"Deep Learning"}
    assert found["Deep Learning"] == ("Deep Learning — “transformer” (weak)", False)
    # Offered from two matches in the title or excerpt; a parent comes with its child.
    article.excerpt = "A transformer, and another transformer."
    article.save(update_fields=["excerpt"])
    found = suggested(client.get(change_url(article)))
    assert found["Deep Learning"] == ("Deep Learning — “transformer”", True)
    assert found["Machine Learning"] == ("Machine Learning — parent of Deep Learning", True)


def test_ticked_suggestions_are_added_on_save_and_recorded(editor, client, taxonomy):
    article = make_article(
        "Quantum Computing meets the humanoid",
        excerpt="",
        status=Article.Status.REVIEW,
    )
    data = form_data(client.get(change_url(article)), "article_form")
    assert sorted(data["suggested_topics"]) == ["Quantum Computing", "Robotics"]
    data["suggested_topics"] = ["Robotics"]  # the editor unticks one
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert sorted(article.topics.names()) == ["Robotics"]
    entry = LogEntry.objects.filter(object_id=str(article.pk)).latest("action_time")
    assert entry.get_change_message() == "Changed topics."


def test_suggestions_are_not_ticked_once_an_article_is_decided(editor, client, taxonomy):
    article = make_article("Quantum Computing in a humanoid", status=Article.Status.PUBLISHED)
    found = suggested(client.get(change_url(article)))
    assert found and not any(ticked for _, ticked in found.values())
    data = form_data(client.get(change_url(article)), "article_form")
    assert "suggested_topics" not in data
    data["quality"] = "70"
    assert client.post(change_url(article), data).status_code == 302
    assert list(article.topics.names()) == []


def test_a_crafted_suggestion_cannot_add_a_topic_that_was_not_suggested(editor, client, taxonomy):
    article = make_article("A humanoid", excerpt="", status=Article.Status.REVIEW)
    data = form_data(client.get(change_url(article)), "article_form")
    data["suggested_topics"] = ["Robotics", "Quantum Computing"]
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    assert "suggested_topics" in response.context["adminform"].form.errors
    assert list(article.topics.names()) == []


def queue_of(count):
    start = timezone.now() - dt.timedelta(days=2)
    return [
        make_article(f"Waiting {n}", status=Article.Status.REVIEW, images=0, published_at=start + dt.timedelta(minutes=n))
        for n in range(count)
    ]  # fmt: skip


def test_the_review_screen_says_where_the_article_stands_in_the_list(editor, client):
    waiting = queue_of(3)
    filters = "?_changelist_filters=status%3Dreview%26o%3D2"  # oldest first
    page = client.get(change_url(waiting[1]) + filters)
    place = page.context["queue_place"]
    assert (place["position"], place["total"]) == (2, 3)
    assert place["previous"] == change_url(waiting[0]) + filters
    assert place["next"] == change_url(waiting[2]) + filters
    html = page.content.decode()
    assert 'data-desk="next"' in html and "2 of 3" in html and "admin/desk.js" in html
    last = client.get(change_url(waiting[2]) + filters).context["queue_place"]
    assert last["next"] is None and last["previous"] == change_url(waiting[1]) + filters


def test_an_article_outside_the_list_links_to_the_lists_first(editor, client):
    waiting = queue_of(2)
    live = make_article("Live", status=Article.Status.PUBLISHED)
    place = client.get(change_url(live)).context["queue_place"]
    assert place["position"] is None and place["total"] == 2
    assert place["next"].startswith(change_url(waiting[0]))  # the queue: oldest first


@pytest.mark.parametrize("size", [10, 300])
def test_the_review_screen_runs_a_constant_number_of_queries(
    editor, client, taxonomy, size, django_assert_num_queries
):
    waiting = queue_of(size)
    for article in waiting[:3]:
        make_coverage(article)
        article.topics.add(taxonomy["ai"])
    client.get(change_url(waiting[0]))  # the session and the content types, once
    with django_assert_num_queries(QUERIES_OF_THE_REVIEW_SCREEN):
        assert client.get(change_url(waiting[1])).status_code == 200


# Session, user, article, its topics, images, coverage, the taxonomy, the list's ids,
# the revisions ...: the same for 10 articles waiting as for 300.
QUERIES_OF_THE_REVIEW_SCREEN = 33


def test_the_review_queue_is_its_own_page_in_either_order(editor, client):
    old, new = queue_of(2)
    Article.objects.filter(pk=new.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    old.quality, new.quality = 10, 90  # new is better
    for article in (old, new):
        article.save(update_fields=["quality"])
    from articles import ranking

    ranking.recompute([old.pk, new.pk])
    home = client.get("/admin/").content.decode()
    assert "/admin/articles/article/?status=review&amp;order=oldest" in home

    def listed(query):
        response = client.get(f"/admin/articles/article/?{query}")
        assert response.status_code == 200
        return response, [a.title for a in response.context["cl"].result_list]

    page, titles = listed("status=review&order=oldest")
    assert page.context["title"] == "Review queue"
    assert titles == [new.title, old.title]  # new waits since three days ago
    orders = {o["label"]: o for o in page.context["queue_orders"]}
    assert orders["Oldest waiting first"]["current"]
    assert not orders["Best first"]["current"]
    assert orders["Best first"]["url"] == "?status=review&order=best"
    page, titles = listed("status=review&order=best")
    assert titles == [new.title, old.title]
    Article.objects.filter(pk=new.pk).update(score=None)  # unranked: last when best first
    assert listed("status=review&order=best")[1] == [old.title, new.title]
    # A column's sort wins over the order, and the page stays the queue.
    page, titles = listed("status=review&order=best&o=2")
    assert titles == [old.title, new.title] and page.context["title"] == "Review queue"
    # Outside the queue, the usual list.
    assert listed("status=published")[0].context["title"] != "Review queue"


def test_the_walk_follows_the_queues_order(editor, client):
    old, new = queue_of(2)
    Article.objects.filter(pk=new.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    place = client.get(change_url(old)).context["queue_place"]  # from elsewhere: oldest first
    assert (place["position"], place["previous"]) == (
        2,
        change_url(new) + "?_changelist_filters=status%3Dreview%26order%3Doldest",
    )


def test_the_queues_rows_show_what_a_decision_needs(editor, client, taxonomy):
    article = make_article(
        "A humanoid folds shirts", excerpt="<b>Shirts</b> folded.", status=Article.Status.REVIEW
    )
    article.topics.add(taxonomy["ai"])
    Article.objects.filter(pk=article.pk).update(import_conflicts={"title": {}, "excerpt": {}})
    html = client.get("/admin/articles/article/?status=review").content.decode()
    assert "Suggested: Robotics" in html
    assert "Topics: AI" in html
    assert "2 import conflicts" in html
    assert "<summary>Excerpt</summary>&lt;b&gt;Shirts&lt;/b&gt; folded." in html  # escaped
    assert f"{article.provider} · " in html


@pytest.mark.parametrize("size", [10, 300])
def test_the_queue_runs_a_constant_number_of_queries(
    editor, client, taxonomy, size, django_assert_num_queries
):
    waiting = queue_of(size)
    for article in waiting[:3]:
        make_coverage(article)
        article.topics.add(taxonomy["ai"])
    client.get("/admin/articles/article/?status=review")  # the session and content types
    with django_assert_num_queries(QUERIES_OF_THE_QUEUE):
        response = client.get("/admin/articles/article/?status=review&order=best")
    assert len(response.context["cl"].result_list) == min(size, 100)


# Session, user, counts, filters, the page, its topics and images, rankings, the
# taxonomy, coverage and story counts: the same for 10 waiting as for 300.
QUERIES_OF_THE_QUEUE = 18


def test_articles_of_the_same_story_are_suggested_as_related_and_linked_when_ticked(editor, client):
    from tests.stories_support import ACQUISITION, article, group, story_of

    first, second, third = (
        article(title, excerpt, hours=n, domain=f"wire{n}.example", status=Article.Status.REVIEW)
        for n, (title, excerpt) in enumerate(ACQUISITION)
    )
    group(first, second, third)
    assert story_of(first) is not None and story_of(first) == story_of(third)
    first.related_stories.add(third)
    response = client.get(change_url(first))
    field = response.context["adminform"].form["suggested_related"]
    assert [value for value, _ in field.field.choices] == [second.pk]  # third is linked
    assert field.value() == [second.pk]  # ticked while in review
    data = form_data(response, "article_form")
    assert client.post(change_url(first), data).status_code == 302
    assert set(first.related_stories.all()) == {second, third}
    entry = LogEntry.objects.filter(object_id=str(first.pk)).latest("action_time")
    assert entry.get_change_message() == "Changed Related stories."


def test_a_strong_suggestion_trailing_the_leader_is_unticked_but_not_called_weak():
    from articles.admin.desk import suggestion_label
    from articles.suggestions import Suggestion

    assert suggestion_label(Suggestion("Robotics", 3.0, False, ["robot"])) == "Robotics — “robot”"
    assert suggestion_label(Suggestion("Robotics", 1.0, False, ["robot"])) == (
        "Robotics — “robot” (weak)"
    )
