"""Private share links for drafts: create, view, count, expire, revoke, publish redirect,
and that a link reveals nothing but its one article."""

import datetime as dt
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from articles import sharing
from articles.models import Article, ShareLink
from tests.admin_support import change_url, make_staff
from tests.factories import make_article

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


@pytest.fixture
def draft():
    return make_article("A draft about a merger", status=Article.Status.REVIEW)


def address(link):
    return reverse("articles:shared_article", args=[sharing.signed_token(link)])


def visit(link, user_agent=BROWSER):
    return Client().get(address(link), HTTP_USER_AGENT=user_agent)


def create_through_admin(client, article, validity="8h"):
    return client.post(
        reverse("admin:articles_article_share", args=[article.pk]), {"share_validity": validity}
    )


# -- creating and listing, in the admin ---------------------------------------------------


@pytest.mark.parametrize(("validity", "hours"), [("1h", 1), ("8h", 8), ("24h", 24), ("7d", 24 * 7)])
def test_an_editor_creates_a_link_valid_for_the_chosen_time(client, editor, draft, validity, hours):
    before = timezone.now()
    response = create_through_admin(client, draft, validity)
    assert response.status_code == 302 and response.url == change_url(draft)
    link = ShareLink.objects.get(article=draft)
    assert link.created_by == editor
    expected = before + dt.timedelta(hours=hours)
    assert abs(link.expires_at - expected) < dt.timedelta(seconds=30)
    entry = LogEntry.objects.get(object_id=str(draft.pk))
    assert "Created a share link" in entry.get_change_message()


def test_the_change_form_lists_links_with_expiry_views_and_a_revoke_button(client, editor, draft):
    link = sharing.create(draft, user=editor)
    visit(link)
    visit(link)
    page = client.get(change_url(draft)).content.decode()
    assert f"http://testserver{address(link)}" in page
    assert timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M") in page
    row = re.search(
        r"<tr><td><a href='[^']*'>[^<]*</a></td><td>live</td><td>[^<]*</td><td>(\d+)", page
    )
    assert row and row.group(1) == "2"
    assert reverse("admin:articles_article_share_revoke", args=[draft.pk, link.pk]) in page


def test_a_contributor_may_share_what_they_can_edit(client, draft):
    client.force_login(make_staff("connie", group="Contributors"))
    assert create_through_admin(client, draft).status_code == 302
    assert ShareLink.objects.filter(article=draft).count() == 1


def test_staff_without_change_permission_cannot_share(client, draft):
    client.force_login(make_staff("viewer", perms=["view_article"]))
    assert create_through_admin(client, draft).status_code == 403
    assert not ShareLink.objects.exists()


def test_creating_takes_post_only_and_a_known_validity(client, editor, draft):
    assert client.get(reverse("admin:articles_article_share", args=[draft.pk])).status_code == 405
    create_through_admin(client, draft, "forever")
    assert not ShareLink.objects.exists()


def test_a_published_article_needs_no_link(client, editor):
    article = make_article("Already public")
    create_through_admin(client, article)
    assert not ShareLink.objects.exists()


# -- what the link shows ---------------------------------------------------------------------


def test_the_link_shows_the_draft_with_a_banner_privately(draft):
    link = sharing.create(draft)
    response = visit(link)
    assert response.status_code == 200
    page = response.content.decode()
    assert "A draft about a merger" in page
    assert "Preview — not public." in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "style=" not in page.split("<main", 1)[-1]  # the public CSP allows no inline style


def test_people_are_counted_crawlers_are_not(draft):
    link = sharing.create(draft)
    visit(link)
    for crawler in ("Slackbot-LinkExpanding 1.0", "facebookexternalhit/1.1", "Googlebot/2.1", ""):
        assert visit(link, crawler).status_code == 200
    link.refresh_from_db()
    assert link.views == 1 and link.last_viewed_at is not None


def test_an_expired_link_answers_410(draft):
    link = sharing.create(draft, validity="1h")
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = visit(link)
    assert response.status_code == 410
    assert "A draft about a merger" not in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_revoked_unknown_and_forged_links_answer_404(client, editor, draft):
    link = sharing.create(draft)
    response = client.post(reverse("admin:articles_article_share_revoke", args=[draft.pk, link.pk]))
    assert response.status_code == 302
    assert visit(link).status_code == 404
    assert "Revoked a share link" in LogEntry.objects.latest("pk").get_change_message()

    other = sharing.create(draft)
    token, signature = sharing.signed_token(other).split(":")
    forged = reverse("articles:shared_article", args=[f"{token}:{signature[::-1]}"])
    assert Client().get(forged).status_code == 404
    unsigned = reverse("articles:shared_article", args=[token])
    assert Client().get(unsigned).status_code == 404
    unknown = reverse("articles:shared_article", args=["nothing-here"])
    assert Client().get(unknown).status_code == 404


def test_once_published_the_link_leads_to_the_public_page(draft):
    link = sharing.create(draft)
    Article.objects.filter(pk=draft.pk).publish()
    draft.refresh_from_db()
    response = visit(link)
    assert response.status_code == 302
    assert response.url == draft.get_absolute_url()


def test_a_shared_page_never_enters_the_page_cache(settings, draft):
    settings.NEWSROOM_PAGE_CACHE = True
    link = sharing.create(draft)
    assert visit(link).status_code == 200
    sharing.revoke(link)
    assert visit(link).status_code == 404


def test_a_link_reveals_nothing_else(draft):
    other_draft = make_article("Another secret draft", status=Article.Status.REVIEW)
    draft.related_stories.add(other_draft)
    link = sharing.create(draft)
    page = visit(link).content.decode()
    assert "Another secret draft" not in page
    reader = Client()
    reader.get(address(link))
    # The link opens no session: the admin, and other drafts, stay closed.
    assert reader.get(reverse("admin:index")).status_code == 302
    assert reader.get(other_draft.get_absolute_url()).status_code == 404
    assert "Another secret draft" not in reader.get(reverse("articles:home")).content.decode()


def test_robots_are_told_to_stay_out_of_previews(client):
    assert "Disallow: /preview/" in client.get("/robots.txt").content.decode()
