"""Import conflicts resolved in place: keep mine or take the file's value, in one click
(articles/ingest/conflicts.py and the admin's resolve view), the "has conflicts"
filter, and the run page's links to the articles."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from articles.models import Article, ImportRun
from tests.admin_support import change_url, changelist_url, make_staff
from tests.factories import make_article, make_topic, run_import

pytestmark = pytest.mark.django_db

URL = "https://wire.example/chips"


def news(folder, *, title="Chips get faster", quality=60, published=False, topics=("AI",)):
    folder.mkdir(exist_ok=True)
    lines = [
        "---",
        f'title: "{title}"',
        'excerpt: "A report."',
        "publishedDateTime: 2026-11-30T10:00:00Z",
        f'webUrl: "{URL}"',
        "provider:\n  name: Wire\n  domain: wire.example",
        f"quality: {quality}",
        f"published: {'true' if published else 'false'}",
        "topics:",
        *(f"  - {name}" for name in topics),
        "---",
        "",
        "Body.",
    ]
    (folder / "chips.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_import(folder)[0] == 0


def conflicted(tmp_path, field="title"):
    """An article whose `field` an editor and the file both changed since the import."""
    make_topic("AI")
    make_topic("Robots")
    news(tmp_path)
    article = Article.objects.get(web_url=URL)
    if field == "title":
        Article.objects.filter(pk=article.pk).update(title="Editor's headline")
        news(tmp_path, title="File's headline")
    elif field == "status":
        Article.objects.filter(pk=article.pk).set_status(Article.Status.REJECTED)
        news(tmp_path, published=True)
    elif field == "topics":
        article.topics.set([make_topic("Chips")])
        news(tmp_path, topics=("AI", "Robots"))
    article.refresh_from_db()
    assert [c["field"] for c in article.import_conflicts] == [field]
    return article


def resolve(client, article, field, choice):
    url = reverse("admin:articles_article_resolve_conflict", args=[article.pk, field, choice])
    return client.post(url)


def test_take_the_files_value_sets_it_and_clears_the_conflict(tmp_path, editor, client):
    article = conflicted(tmp_path)
    response = resolve(client, article, "title", "take")
    assert response.status_code == 302 and response.url == change_url(article)
    article.refresh_from_db()
    assert article.title == "File's headline" and article.import_conflicts == []
    entry = LogEntry.objects.get(object_id=str(article.pk))
    assert entry.user == editor
    assert entry.change_message == "Took the file's value of “title” (import conflict)."
    # The same file again: nothing left to report.
    code, out, _ = run_import(tmp_path)
    assert "0 conflicts" in out
    assert Article.objects.get(pk=article.pk).title == "File's headline"


def test_keep_mine_dismisses_the_conflict_for_good(tmp_path, editor, client):
    article = conflicted(tmp_path)
    resolve(client, article, "title", "keep")
    article.refresh_from_db()
    assert article.title == "Editor's headline" and article.import_conflicts == []
    assert LogEntry.objects.get(object_id=str(article.pk)).change_message == (
        "Kept the editor's value of “title” (import conflict)."
    )
    code, out, _ = run_import(tmp_path)  # the file unchanged: the editor's value stays
    assert "0 conflicts" in out
    assert Article.objects.get(pk=article.pk).title == "Editor's headline"


def test_taking_the_files_topics_replaces_them(tmp_path, editor, client):
    article = conflicted(tmp_path, "topics")
    resolve(client, article, "topics", "take")
    assert sorted(article.topics.names()) == ["AI", "Robots"]
    assert Article.objects.get(pk=article.pk).import_conflicts == []


def test_the_change_form_offers_both_buttons_and_they_work_without_script(tmp_path, editor, client):
    article = conflicted(tmp_path)
    html = client.get(change_url(article)).content.decode()
    take = reverse("admin:articles_article_resolve_conflict", args=[article.pk, "title", "take"])
    assert f'formaction="{take}" formnovalidate>Take the file\'s value</button>' in html
    assert "Keep mine" in html


def test_a_contributor_cannot_take_the_files_status(tmp_path, client):
    article = conflicted(tmp_path, "status")
    client.force_login(make_staff("carl", group="Contributors"))
    html = client.get(change_url(article)).content.decode()
    take = reverse("admin:articles_article_resolve_conflict", args=[article.pk, "status", "take"])
    assert take not in html  # not offered, as the server would refuse it
    assert "taking the file's status needs the publishing right" in html.replace("&#x27;", "'")
    assert resolve(client, article, "status", "take").status_code == 403
    article.refresh_from_db()
    assert article.status == Article.Status.REJECTED and article.import_conflicts != []


def test_an_editor_takes_the_files_status_and_it_goes_live(tmp_path, editor, client):
    article = conflicted(tmp_path, "status")
    resolve(client, article, "status", "take")
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED and article.went_live_at is not None


def test_only_post_and_only_open_conflicts(tmp_path, editor, client):
    article = conflicted(tmp_path)
    url = reverse("admin:articles_article_resolve_conflict", args=[article.pk, "title", "take"])
    assert client.get(url).status_code == 405
    wrong = reverse("admin:articles_article_resolve_conflict", args=[article.pk, "title", "x"])
    assert client.post(wrong).status_code == 404
    response = client.post(
        reverse("admin:articles_article_resolve_conflict", args=[article.pk, "excerpt", "take"]),
        follow=True,
    )
    assert "has no open import conflict any more" in response.content.decode()
    assert Article.objects.get(pk=article.pk).title == "Editor's headline"


def test_a_reader_without_change_permission_is_refused(tmp_path, client):
    article = conflicted(tmp_path)
    client.force_login(make_staff("viewer", perms=["view_article"]))
    assert resolve(client, article, "title", "take").status_code == 403
    assert Article.objects.get(pk=article.pk).title == "Editor's headline"


def test_the_has_conflicts_filter(tmp_path, editor, client):
    article = conflicted(tmp_path)
    clean = make_article("Clean")
    listed = client.get(changelist_url(), {"conflicts": "yes"}).context["cl"].result_list
    assert list(listed) == [article]
    unlisted = client.get(changelist_url(), {"conflicts": "no"}).context["cl"].result_list
    assert clean in unlisted and article not in unlisted


def test_the_run_page_links_each_conflict_to_its_article_and_the_list_says_the_outcome(
    tmp_path, editor, client, admin_user
):
    article = conflicted(tmp_path)
    run = ImportRun.objects.latest("started_at")
    client.force_login(admin_user)
    html = client.get(reverse("admin:articles_importrun_change", args=[run.pk])).content.decode()
    assert f'<a href="{change_url(article)}">' in html
    listing = client.get(reverse("admin:articles_importrun_changelist")).content.decode()
    assert "1 conflict" in listing and "clean" in listing
