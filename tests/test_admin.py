"""The editorial admin: article list, review queue, article form, dashboard, imports."""

import datetime as dt
import re
from html import unescape
from unittest import mock

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.templatetags.admin_list import result_headers
from django.db import connection
from django.template.backends import jinja2 as jinja2_backend
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.admin.model_admins import ArticleAdmin
from articles.ingest.snapshot import values_of
from articles.models import Article, ImportRun, Provider, Topic
from tests.admin_support import (
    change_url,
    changelist_row_prefix,
    changelist_url,
    form_data,
)
from tests.factories import make_article, make_coverage, make_provider, make_topic
from tests.image_support import host_image

pytestmark = pytest.mark.django_db


def _changelist_queries(client, params=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist_url() + params)
    assert response.status_code == 200
    # The rows are read without the heavy columns no cell shows.
    rows = [q["sql"] for q in queries if '"articles_article"."title"' in q["sql"]]
    assert rows and not any('"articles_article"."body"' in sql for sql in rows)
    return response, len(queries)


def _make_many(count, providers, topics):
    for n in range(count):
        make_article(
            provider=providers[n % len(providers)],
            topics=topics[: 1 + n % len(topics)],
            images=n % 3,
            status=[Article.Status.REVIEW, Article.Status.PUBLISHED][n % 2],
        )


# The article list ---------------------------------------------------------------


def test_changelist_queries_do_not_grow_with_rows(editor, client, monkeypatch):
    # Show every row on one page, so 300 rows (and 300 editable forms) really render.
    monkeypatch.setattr(ArticleAdmin, "list_per_page", 1000)
    providers = [make_provider() for _ in range(3)]
    topics = [make_topic() for _ in range(3)]
    _make_many(10, providers, topics)
    response, few = _changelist_queries(client)
    assert len(response.context["cl"].result_list) == 10
    assert len(response.context["cl"].formset.forms) == 10

    _make_many(290, providers, topics)
    response, many = _changelist_queries(client)
    assert len(response.context["cl"].result_list) == 300
    assert many == few
    assert few <= 20  # session, user, counts, filters, rows, topics, images


def test_review_queue_filter_and_sortable_columns(editor, client):
    queued = make_article("Waiting for review", status=Article.Status.REVIEW)
    make_article("Already out", status=Article.Status.PUBLISHED)

    response = client.get(changelist_url())
    spec = next(s for s in response.context["cl"].filter_specs if "review" in s.title)
    assert spec.parameter_name == "status"

    response = client.get(changelist_url(), {"status": "review"})
    assert list(response.context["cl"].result_list) == [queued]

    headers = {h["text"].lower(): h["sortable"] for h in result_headers(response.context["cl"])}
    assert headers["quality"] and headers["heat"] and headers["article"]  # the headline: its date


def test_list_sorts_by_quality(editor, client):
    low, high = make_article(quality=5), make_article(quality=90)
    quality_column = ArticleAdmin.list_display.index("quality")
    response = client.get(changelist_url(), {"o": f"-{quality_column}"})
    assert list(response.context["cl"].result_list) == [high, low]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"quality_band": "unknown"}, ["unknown"]),
        ({"quality_band": "100+"}, ["top"]),
        ({"quality_band": "50-79"}, ["middle"]),
        ({"heat_known": "unknown"}, ["unknown"]),
        ({"has_coverage": "yes"}, ["top"]),
        ({"has_coverage": "no"}, ["middle", "unknown"]),
        ({"topic": "robots"}, ["middle"]),
        ({"type": "video"}, ["top"]),
        ({"q": "outlet-z"}, ["top"]),
    ],
)
def test_list_filters_and_search(editor, client, params, expected):
    robots = make_topic("Robots", slug="robots")
    top = make_article(
        "top",
        quality=120,
        heat=10,
        type="video",
        provider=make_provider("outlet-z.example", "Outlet Z"),
    )
    make_coverage(top)
    make_article("middle", quality=60, topics=[robots])
    make_article("unknown", quality=None, heat=None)
    response = client.get(changelist_url(), params)
    assert sorted(a.title for a in response.context["cl"].result_list) == expected


def test_thumbnail_only_for_http_urls(editor, client):
    shown = make_article("Has picture")
    hidden = make_article("Hostile picture", images=0)
    hidden.images.create(position=0, url="javascript:alert(1)")  # bypasses validation
    picture = host_image(shown.images.first().url)
    html = client.get(changelist_url()).content.decode()
    assert f'src="/media/images/{picture.sha256[:2]}/{picture.sha256}/800.jpg"' in html
    assert shown.images.first().url not in html  # our copy, not the outlet's
    assert "javascript:alert(1)" not in html


def test_topics_and_provider_in_list(editor, client):
    make_article(provider=make_provider(name="The Outlet"), topics=[make_topic("Vision")])
    html = client.get(changelist_url()).content.decode()
    assert "The Outlet" in html and "Vision" in html


# Stale list edits ------------------------------------------------------------------


def test_list_edit_saves_and_logs(editor, client):
    article = make_article(quality=10, heat=10)
    data = form_data(client.get(changelist_url()), "changelist-form")
    row = changelist_row_prefix(data, article)
    data.update({f"{row}-quality": "77", "_save": "Save"})
    response = client.post(changelist_url(), data)
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.quality == 77
    assert LogEntry.objects.filter(object_id=str(article.pk)).count() == 1


def test_stale_list_edit_is_refused(editor, client):
    article = make_article(quality=10, heat=10)
    data = form_data(client.get(changelist_url()), "changelist-form")
    # Meanwhile another editor changes the heat (which bumps updated_at).
    Article.objects.filter(pk=article.pk).set_heat(90, user=editor)

    row = changelist_row_prefix(data, article)
    data.update({f"{row}-quality": "77", "_save": "Save"})
    response = client.post(changelist_url(), data)

    assert response.status_code == 200
    assert "someone else changed" in response.content.decode()
    article.refresh_from_db()
    assert (article.quality, article.heat) == (10, 90)  # neither edit was undone


def test_stale_row_without_edits_does_not_block_others(editor, client):
    mine, theirs = make_article(quality=10), make_article(quality=20)
    data = form_data(client.get(changelist_url()), "changelist-form")
    # Someone retitles the other article: nothing shown in the list changes.
    theirs.title = "Retitled"
    theirs.save()

    data.update({f"{changelist_row_prefix(data, mine)}-quality": "11", "_save": "Save"})
    assert client.post(changelist_url(), data).status_code == 302
    mine.refresh_from_db()
    assert mine.quality == 11


def test_list_edit_validates_scores(editor, client):
    article = make_article(quality=10, heat=10)
    data = form_data(client.get(changelist_url()), "changelist-form")
    row = changelist_row_prefix(data, article)
    data.update({f"{row}-quality": "-3", f"{row}-heat_pin": "-5", "_save": "Save"})
    html = client.post(changelist_url(), data).content.decode()
    assert "Quality must be 0 or more" in html
    assert "A pinned heat must be 0 or more" in html
    article.refresh_from_db()
    assert (article.quality, article.heat_pin) == (10, 10)


# The article form ------------------------------------------------------------------


def test_change_form_sections_and_secured_kept_short(editor, client):
    secret, older, newer = ("S3CR3T-" + c * 100 for c in "xyz")
    article = make_article(secured=secret)
    article.imported = {**values_of(article), "secured": older}
    article.import_conflicts = [{"field": "secured", "ours": secret, "theirs": newer}]
    article.save()
    response = client.get(change_url(article))
    names = [name for name, _ in response.context["adminform"].fieldsets]
    assert names[:5] == ["Import conflicts", "Editorial", "Why this rank", "Content", "Source"]
    html = response.content.decode()
    assert secret not in html and older not in html and newer not in html
    assert f"{secret[:12]}… ({len(secret)} characters)" in html


def test_change_form_saves_and_edits_topics(editor, client):
    vision, robots = make_topic("Vision"), make_topic("Robots")
    article = make_article(topics=[vision], status=Article.Status.REVIEW)
    data = form_data(client.get(change_url(article)), "article_form")
    data.update({"title": "New title", "topics": [str(robots.pk)], "heat_pin": "150"})
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    article.refresh_from_db()
    assert article.title == "New title"
    assert article.heat_pin == 150
    assert list(article.topics.all()) == [robots]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quality", "-1", "Quality must be 0 or more"),
        ("heat_pin", "-1", "A pinned heat must be 0 or more"),
        ("original_url", "javascript:alert(1)", "Enter a valid http:// or https:// URL"),
        ("web_url", "ftp://example.com/x", "Only http:// and https:// URLs, without a user"),
    ],
)
def test_change_form_validation_messages(editor, client, field, value, message):
    article = make_article()
    data = form_data(client.get(change_url(article)), "article_form")
    data[field] = value
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_topics_field_refuses_unknown_topics(editor, client):
    article = make_article()
    data = form_data(client.get(change_url(article)), "article_form")
    data["topics"] = ["Brand new topic"]
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    assert not Topic.objects.filter(name="Brand new topic").exists()


def test_stale_change_form_is_refused(editor, client):
    article = make_article(quality=10)
    data = form_data(client.get(change_url(article)), "article_form")
    Article.objects.filter(pk=article.pk).set_quality(50, user=editor)

    data["title"] = "My late edit"
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    assert "someone else changed" in response.content.decode()
    article.refresh_from_db()
    assert article.title != "My late edit"
    assert article.quality == 50


def test_add_form_makes_slug_and_starts_in_review(editor, client):
    provider = make_provider()
    url = reverse("admin:articles_article_add")
    data = form_data(client.get(url), "article_form")
    data.update(
        {
            "title": "Robots learn to fold laundry",
            "web_url": "https://example.com/robots",
            "provider": str(provider.pk),
            "published_at_0": "2026-01-02",
            "published_at_1": "10:00:00",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    article = Article.objects.get(web_url="https://example.com/robots")
    assert article.slug == "2026-01-02-robots-learn-to-fold-laundry"
    assert article.status == Article.Status.REVIEW


def test_changed_since_import_and_conflicts_are_shown_escaped(editor, client):
    article = make_article(title="Edited <b>title</b>")
    values = values_of(article)
    article.imported = {**values, "title": "Imported <script>x</script>"}
    article.import_conflicts = [
        {"field": "title", "ours": "Edited <b>title</b>", "theirs": "<img src=x onerror=alert(1)>"}
    ]
    article.save()

    response = client.get(change_url(article))
    html = response.content.decode()
    names = [name for name, _ in response.context["adminform"].fieldsets]
    assert names[0] == "Import conflicts"
    assert "Edited since the last import." in html
    assert "Imported &lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>x</script>" not in html and "<img src=x" not in html


def test_view_on_site_only_for_published(editor, client):
    published = make_article(status=Article.Status.PUBLISHED)
    draft = make_article(status=Article.Status.REVIEW)
    preview = reverse("admin:articles_article_preview", args=[draft.pk])

    html = client.get(change_url(published)).content.decode()
    assert "View on site" in html and "Preview (not public)" not in html

    html = client.get(change_url(draft)).content.decode()
    assert "View on site" not in html and preview in html


def test_preview_shows_unpublished_item_to_staff(editor, client):
    draft = make_article(
        "Draft <em>story</em>",
        status=Article.Status.REVIEW,
        body="Some **bold** text <script>alert(1)</script>",
        topics=[make_topic("Vision")],
    )
    make_coverage(draft, title="Other outlet's take")
    response = client.get(reverse("admin:articles_article_preview", args=[draft.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview — not public" in html
    assert "Draft &lt;em&gt;story&lt;/em&gt;" in html
    assert "<strong>bold</strong>" in html and "<script>alert(1)</script>" not in html
    assert "Vision" in html and "Other outlet&#39;s take" in html
    assert "no-cache" in response["Cache-Control"]


def _get_with_context(client, url):
    """The response and the context its (Jinja2) template got: unlike Django's
    templates, Jinja2's leave no `response.context` for the test client."""
    contexts = []
    render = jinja2_backend.Template.render

    def recording_render(template, context=None, request=None):
        contexts.append(dict(context or {}))
        return render(template, context, request)

    with mock.patch.object(jinja2_backend.Template, "render", recording_render):
        response = client.get(url)
    return response, contexts[0]


def test_preview_gives_the_public_template_what_the_public_view_gives(editor, client):
    article = make_article(status=Article.Status.PUBLISHED, topics=[make_topic("Vision")])
    public_page, public_context = _get_with_context(client, article.get_absolute_url())
    preview, preview_context = _get_with_context(
        client, reverse("admin:articles_article_preview", args=[article.pk])
    )
    assert public_page.status_code == preview.status_code == 200
    assert public_context.keys() <= preview_context.keys()
    assert "Preview. This item is published" in preview.content.decode()


def test_preview_needs_admin_login(client):
    draft = make_article(status=Article.Status.REVIEW)
    response = client.get(reverse("admin:articles_article_preview", args=[draft.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_related_stories_and_provider_autocomplete(editor, client):
    make_article("Chips shortage deepens")
    make_article("Robots fold laundry")
    source = make_article("Source article")
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "term": "chips",
            "app_label": "articles",
            "model_name": "article",
            "field_name": "related_stories",
        },
    )
    texts = [r["text"] for r in response.json()["results"]]
    assert [text.split(" — ")[0] for text in texts] == ["Chips shortage deepens"]
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "term": source.provider.name,
            "app_label": "articles",
            "model_name": "article",
            "field_name": "provider",
        },
    )
    assert [r["text"] for r in response.json()["results"]] == [source.provider.name]


# Dashboard, providers, topics, import runs --------------------------------------------


def test_admin_index_at_a_glance(editor, client):
    make_article(status=Article.Status.REVIEW)
    make_article(status=Article.Status.REVIEW)
    out_today = make_article(status=Article.Status.PUBLISHED)
    old = make_article(status=Article.Status.PUBLISHED)
    Article.objects.filter(pk=old.pk).update(went_live_at=timezone.now() - dt.timedelta(days=3))
    run = ImportRun.objects.create(failed=2, failures=[{"path": "a.md", "error": "bad"}] * 2)

    response = client.get(reverse("admin:index"))
    html = response.content.decode()
    queue = changelist_url() + "?status=review&amp;order=oldest"
    assert f'<a href="{queue}">2 in the review queue</a>' in html
    assert "1 went live today" in html
    assert reverse("admin:articles_importrun_change", args=[run.pk]) in html
    assert "2 failures" in html

    # The "published today" link lands on exactly those articles.
    link = re.search(r'<a href="([^"]+)">1 went live today', html).group(1)
    listed = client.get(unescape(link)).context["cl"].result_list
    assert list(listed) == [out_today]


def test_provider_and_topic_lists_count_articles(editor, client):
    outlet = make_provider(name="Counted Outlet")
    vision = make_topic("Vision", keywords=["computer vision", "images"], hashtags=["#CV"])
    make_topic("Faces", parent=vision)
    for _ in range(3):
        make_article(provider=outlet, topics=[vision])

    with CaptureQueriesContext(connection) as few:
        response = client.get(reverse("admin:articles_provider_changelist"))
    assert {p.name: p.article_count for p in response.context["cl"].result_list} == {
        "Counted Outlet": 3
    }
    for _ in range(5):
        make_article()  # five more providers
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:articles_provider_changelist"))
    assert len(many) == len(few)

    response = client.get(reverse("admin:articles_topic_changelist"))
    rows = {t.name: t for t in response.context["cl"].result_list}
    assert rows["Vision"].article_count == 3 and rows["Faces"].article_count == 0
    html = response.content.decode()
    assert "computer vision, images" in html and "#CV" in html and "##" not in html
    assert Provider.objects.count() == 6


def test_import_runs_are_read_only_newest_first(client, admin_user):
    client.force_login(admin_user)  # even a superuser
    older = ImportRun.objects.create(started_at=timezone.now() - dt.timedelta(days=1))
    newer = ImportRun.objects.create(
        failed=1,
        failures=[{"path": "news/bad.md", "line": 3, "error": "news/bad.md:3: <no closing>"}],
        conflicts=1,
        conflict_details=[
            {"path": "news/x.md", "field": "title", "ours": "A", "theirs": "B"},
            {"path": "news/x.md", "field": "secured", "ours": "K" * 80, "theirs": "L" * 80},
        ],
    )
    response = client.get(reverse("admin:articles_importrun_changelist"))
    assert list(response.context["cl"].result_list) == [newer, older]
    assert not response.context["has_add_permission"]

    url = reverse("admin:articles_importrun_change", args=[newer.pk])
    html = client.get(url).content.decode()
    assert "news/bad.md:3: &lt;no closing&gt;" in html
    assert "<td>title</td><td>A</td><td>B</td>" in html
    assert "K" * 80 not in html and "L" * 13 not in html
    assert 'name="_save"' not in html

    assert client.post(url, {"failed": "0"}).status_code == 403
    assert client.get(reverse("admin:articles_importrun_add")).status_code == 403
    delete = reverse("admin:articles_importrun_delete", args=[newer.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ImportRun.objects.count() == 2


def test_the_admin_is_branded_newsroom(editor, client):
    html = client.get(reverse("admin:index")).content.decode()
    assert "<title>Desk | Newsroom desk</title>" in html
    assert '<a href="/admin/">Newsroom</a>' in html and "Django administration" not in html
