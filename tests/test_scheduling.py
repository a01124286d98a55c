"""Scheduled publishing and embargoes (issue 13, points 3 and 4).

A scheduled item is "published" with a "go live at" time still to come
(models.visible_at): no public surface shows it before its time, every one does after,
with the page cache on, whether or not the sweep has run; "take down at" likewise.
The sweep (tasks.apply_schedules) records each time through the one write path. An
embargo is refused by one rule (models.embargo_refusal) that every path asks: the
change form, the list's rows, the actions, the importer, a crafted POST; the public
APIs take no writes at all.
"""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from articles import tasks
from articles.models import Article, Embargoed
from articles.site import caching

from .admin_support import (
    change_url,
    changelist_row_prefix,
    changelist_url,
    form_data,
    make_staff,
)
from .factories import hours_ago, make_article, make_provider, make_topic, run_import
from .test_ranking_wiring import news_file

pytestmark = pytest.mark.django_db

TITLE = "Scheduled robots story"


@pytest.fixture
def page_cache_on(settings):
    settings.NEWSROOM_PAGE_CACHE = True
    settings.NEWSROOM_PAGE_CACHE_SECONDS = 3600  # far longer than any step of a test
    settings.NEWSROOM_PAGE_MAX_AGE = 900
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site(frozen_clock):
    """A live story and, related to it, one scheduled for 10 minutes from now."""
    topic, provider = make_topic("Robots", slug="robots"), make_provider(domain="bots.example")
    main = make_article("Main story", topics=[topic], provider=provider, published_at=hours_ago(3))
    later = make_article(
        TITLE,
        topics=[topic],
        provider=provider,
        published_at=hours_ago(1),
        go_live_at=frozen_clock.now + dt.timedelta(minutes=10),
    )
    main.related_stories.add(later)
    later.refresh_from_db()
    return main, later


def surfaces(main, later):
    """Every public address a story shows on: {name: URL}."""
    return {
        "home (Top)": "/",
        "home (Latest)": "/?view=latest",
        "topic page": "/topics/robots/",
        "provider page": "/providers/bots.example/",
        "related stories": main.get_absolute_url(),
        "search": "/search/?q=robots",
        "RSS feed": "/feed/",
        "Atom feed": "/feed/atom/",
        "topic feed": "/topics/robots/feed/",
        "API": "/api/news/",
        "topic API": "/api/news/robots/",
        "original API list": "/api/news/index.json",
        "sitemap": "/sitemap-articles.xml",
        "news sitemap": "/sitemap-news.xml",
    }


def where_it_shows(main, later):
    """{surface: whether the scheduled story is on it}, read by a fresh browser."""
    browser = Client()
    found = {}
    for name, url in surfaces(main, later).items():
        page = browser.get(url).content.decode()
        found[name] = TITLE in page or later.get_absolute_url() in page
    found["its page"] = browser.get(later.get_absolute_url()).status_code == 200
    item = f"/api/news/{later.slug}/index.json"
    found["original API item"] = browser.get(item).status_code == 200
    return found


def test_a_scheduled_story_is_nowhere_before_its_time_and_everywhere_after(
    site, frozen_clock, page_cache_on
):
    main, later = site
    frozen_clock.advance(minutes=9, seconds=59)
    before = where_it_shows(main, later)  # every page now cached, without it
    frozen_clock.advance(seconds=1)  # 10:10:30: its time; no sweep has run
    after = where_it_shows(main, later)

    assert not any(before.values()), before
    assert all(after.values()), after
    assert Article.objects.get(pk=later.pk).went_live_at is None  # only the rule so far


def test_a_story_taken_down_on_time_is_nowhere_after(site, frozen_clock, page_cache_on):
    main, later = site
    Article.objects.filter(pk=later.pk).update(
        go_live_at=None,
        went_live_at=frozen_clock.now - dt.timedelta(hours=1),
        take_down_at=frozen_clock.now + dt.timedelta(minutes=5),
    )
    before = where_it_shows(main, later)
    frozen_clock.advance(minutes=5)
    after = where_it_shows(main, later)

    assert all(before.values()), before
    assert not any(after.values()), after


def test_cached_pages_and_browsers_keep_a_page_no_longer_than_the_next_scheduled_time(
    site, frozen_clock, page_cache_on
):
    frozen_clock.advance(minutes=2)
    response = Client().get("/")
    # 8 minutes to its time, not the settings' 15 minutes (or the cache's hour).
    assert "max-age=480" in response["Cache-Control"]
    entry = cache.get(caching.page_key(response.wsgi_request))
    assert entry[3] == frozen_clock.now + dt.timedelta(minutes=8)


def test_a_cache_hit_costs_no_query_and_the_horizon_is_asked_once(
    site, frozen_clock, page_cache_on, django_assert_num_queries
):
    browser = Client()
    browser.get("/")
    with django_assert_num_queries(0):
        assert browser.get("/").status_code == 200
    # Another page of the same generation: its own queries, not the horizon's again.
    with django_assert_num_queries(0):
        caching.valid_until(caching.current_generation(), frozen_clock.now)


# -- The sweep ---------------------------------------------------------------------------


def test_the_sweep_records_the_go_live_through_the_write_path(
    site, frozen_clock, django_capture_on_commit_callbacks
):
    main, later = site
    cache.clear()
    generation = caching.current_generation()
    frozen_clock.advance(minutes=9)
    assert tasks.apply_schedules(frozen_clock.now) == 0  # not yet
    frozen_clock.advance(minutes=2)  # a late sweep: 10:11:30

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.apply_schedules(frozen_clock.now) == 1
    assert tasks.apply_schedules(frozen_clock.now) == 0  # done once

    article = Article.objects.get(pk=later.pk)
    assert article.status == Article.Status.PUBLISHED and article.go_live_at is None
    assert article.went_live_at == later.go_live_at  # its time, not the sweep's
    (entry,) = LogEntry.objects.filter(object_id=str(later.pk))
    assert entry.user.username == "schedule" and not entry.user.is_active
    assert entry.change_message == "Went live at 2026-03-02 10:10 UTC, as scheduled."
    assert caching.current_generation() != generation  # the cached pages are forgotten


def test_the_sweep_takes_down_and_the_item_returns_to_review(frozen_clock):
    article = make_article(take_down_at=frozen_clock.now + dt.timedelta(minutes=1))
    frozen_clock.advance(minutes=1)

    assert tasks.apply_schedules(frozen_clock.now) == 1

    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW and article.take_down_at is None
    assert article.went_live_at is not None  # it was live: the importer never republishes it
    assert LogEntry.objects.get(object_id=str(article.pk)).user.username == "schedule"


def test_the_sweep_leaves_an_embargoed_item_until_the_embargo_lifts(frozen_clock):
    moment = frozen_clock.now + dt.timedelta(minutes=1)
    article = make_article(go_live_at=moment, embargo_until=moment)
    # Later the embargo was extended past the time (by a path that skips the form).
    Article.objects.filter(pk=article.pk).update(embargo_until=moment + dt.timedelta(hours=1))
    frozen_clock.advance(minutes=5)

    assert tasks.apply_schedules(frozen_clock.now) == 0
    assert not Article.objects.published().filter(pk=article.pk).exists()
    frozen_clock.advance(hours=1)
    assert tasks.apply_schedules(frozen_clock.now) == 1
    assert Article.objects.published().filter(pk=article.pk).exists()


def test_the_sweep_job_is_in_the_sweep():
    assert tasks.apply_schedules in tasks.SWEEP_JOBS


# -- The admin ---------------------------------------------------------------------------


@pytest.fixture
def editor(client):
    client.force_login(make_staff("eddie", group="Editors"))
    return client


@pytest.fixture
def contributor(client):
    client.force_login(make_staff("connie", group="Contributors"))
    return client


def test_an_editor_schedules_in_the_sites_time_zone(editor, frozen_clock, settings):
    settings.TIME_ZONE = "Europe/Paris"  # UTC+1 in March
    article = make_article(status=Article.Status.REVIEW)
    data = form_data(editor.get(change_url(article)), "article_form")
    data.update(
        status=Article.Status.PUBLISHED,
        go_live_at_0="2026-03-02",
        go_live_at_1="12:00:00",
        take_down_at_0="2026-03-03",
        take_down_at_1="12:00:00",
    )

    assert editor.post(change_url(article), data).status_code == 302

    article.refresh_from_db()
    assert article.go_live_at == dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)
    assert article.take_down_at == dt.datetime(2026, 3, 3, 11, 0, tzinfo=dt.UTC)
    assert article.went_live_at is None and not article.is_published
    page = editor.get(changelist_url() + "?scheduled=all").content.decode()
    assert "Goes live 2026-03-02 12:00 CET" in page
    assert "Comes down 2026-03-03 12:00 CET" in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"status": "review"}, "go_live_at", "choose “Published” as the status too"),
        ({"take_down_at_1": "09:00:00"}, "take_down_at", "Take it down after it goes live."),
        ({"embargo_until_1": "11:00:00"}, "go_live_at", "schedule it for then or later"),
    ],
)
def test_a_schedule_that_cannot_hold_is_refused_with_one_line(
    editor, frozen_clock, change, field, message
):
    article = make_article(status=Article.Status.REVIEW)
    data = form_data(editor.get(change_url(article)), "article_form")
    data.update(
        status=Article.Status.PUBLISHED,
        go_live_at_0="2026-03-02",
        go_live_at_1="10:30:00",
        take_down_at_0="2026-03-02",
        take_down_at_1="12:00:00",
        embargo_until_0="2026-03-02",
        embargo_until_1="10:00:00",
    )
    data.update(change)

    response = editor.post(change_url(article), data)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW and article.go_live_at is None


def test_a_contributor_cannot_schedule_even_with_a_crafted_post(contributor, frozen_clock):
    article = make_article(status=Article.Status.PUBLISHED)
    data = form_data(contributor.get(change_url(article)), "article_form")
    assert "go_live_at_0" not in data and "embargo_until_0" not in data  # disabled fields
    data.update(
        take_down_at_0="2026-03-02",
        take_down_at_1="11:00:00",
        embargo_until_0="2026-04-01",
        embargo_until_1="11:00:00",
        quality="42",
    )

    assert contributor.post(change_url(article), data).status_code == 302

    article.refresh_from_db()
    assert article.take_down_at is None and article.embargo_until is None
    assert article.quality == 42  # the rest of the edit is kept


def test_the_save_itself_refuses_a_contributors_schedule(rf, frozen_clock):
    """Belt and braces behind the disabled fields: save_model compares with the row."""
    from django.contrib.admin.sites import site as admin_site
    from django.core.exceptions import PermissionDenied

    article = make_article(status=Article.Status.PUBLISHED)
    request = rf.post("/")
    request.user = make_staff("connie", group="Contributors")
    model_admin = admin_site._registry[Article]
    article.take_down_at = frozen_clock.now + dt.timedelta(hours=1)
    with pytest.raises(PermissionDenied, match="the schedule or the embargo"):
        model_admin.save_model(request, article, form=None, change=True)


def test_the_admin_warns_of_an_overdue_schedule(editor, frozen_clock):
    article = make_article(go_live_at=frozen_clock.now + dt.timedelta(minutes=1))
    frozen_clock.advance(minutes=5)  # no sweep ran

    listing = editor.get(changelist_url() + "?scheduled=overdue").content.decode()
    home = editor.get(reverse("admin:index")).content.decode()
    form = editor.get(change_url(article)).content.decode()

    assert article.title in listing and "Overdue" in listing
    assert "1 overdue: no worker is running the sweep" in home
    assert "Overdue: its time passed" in form
    tasks.apply_schedules(frozen_clock.now)
    assert "overdue" not in editor.get(reverse("admin:index")).content.decode()


# -- Embargo, by every path ----------------------------------------------------------------


@pytest.fixture
def embargoed(frozen_clock):
    return make_article(
        "Embargoed story",
        status=Article.Status.REVIEW,
        embargo_until=frozen_clock.now + dt.timedelta(hours=2),
    )


def assert_still_embargoed(article):
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW
    assert not Article.objects.published().filter(pk=article.pk).exists()


def test_embargo_refused_by_the_change_form(editor, embargoed):
    data = form_data(editor.get(change_url(embargoed)), "article_form")
    assert (
        "Embargo until 2026-03-02 12:00 UTC" in editor.get(change_url(embargoed)).content.decode()
    )
    data["status"] = Article.Status.PUBLISHED

    response = editor.post(change_url(embargoed), data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["status"]
    assert error == (
        "“Embargoed story” is under embargo until 2026-03-02 12:00 UTC: "
        "it cannot be published before then."
    )
    assert_still_embargoed(embargoed)


def test_embargo_refused_by_the_publish_action_for_the_whole_selection(editor, embargoed):
    free = make_article(status=Article.Status.REVIEW)
    response = editor.post(
        changelist_url(),
        {"action": "publish", "_selected_action": [embargoed.pk, free.pk]},
        follow=True,
    )

    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Nothing changed: “Embargoed story” is under embargo until")
    assert_still_embargoed(embargoed)
    free.refresh_from_db()
    assert free.status == Article.Status.REVIEW


def test_embargo_refused_by_the_write_path_itself(embargoed, frozen_clock):
    with pytest.raises(Embargoed):
        Article.objects.filter(pk=embargoed.pk).publish()
    embargoed.status = Article.Status.PUBLISHED
    with pytest.raises(Embargoed):
        embargoed.save()  # a shell, or any code that skips the form
    assert_still_embargoed(embargoed)
    frozen_clock.advance(hours=2)  # lifted
    assert Article.objects.filter(pk=embargoed.pk).publish() == 1


def test_an_embargo_may_not_be_put_on_a_live_item(editor, frozen_clock):
    article = make_article(status=Article.Status.PUBLISHED)
    data = form_data(editor.get(change_url(article)), "article_form")
    data.update(embargo_until_0="2026-03-02", embargo_until_1="12:00:00")

    response = editor.post(change_url(article), data)

    assert response.status_code == 200
    assert (
        "return it to review before"
        in response.context["adminform"].form.errors["embargo_until"][0]
    )


def test_embargo_refused_by_the_list_rows(editor, embargoed):
    """The list edits quality and heat only: a status sent with a row is not a field."""
    data = form_data(editor.get(changelist_url()), "changelist-form")
    prefix = changelist_row_prefix(data, embargoed)
    data[f"{prefix}-status"] = Article.Status.PUBLISHED
    data[f"{prefix}-quality"] = "77"
    data["_save"] = "Save"

    assert editor.post(changelist_url(), data).status_code == 302

    assert_still_embargoed(embargoed)
    assert embargoed.quality == 77


def test_the_public_apis_take_no_writes(client, embargoed):
    for url in ("/api/news/", f"/api/news/{embargoed.slug}/index.json", "/api/news/index.json"):
        response = client.post(url, {"status": "published"}, content_type="application/json")
        assert response.status_code == 405, url
    assert_still_embargoed(embargoed)


def test_embargo_refused_by_the_import_with_one_line_and_the_rest_of_the_file_kept(
    tmp_path, frozen_clock
):
    path = news_file(tmp_path, "wire")
    text = path.read_text()
    path.write_text(text.replace("published: true", "published: false"))
    assert run_import(path)[0] == 0
    article = Article.objects.get(web_url="https://wire.example/wire")
    article.embargo_until = frozen_clock.now + dt.timedelta(hours=2)  # an editor's
    article.save()
    # Upstream publishes it, and rewrites the excerpt.
    path.write_text(text.replace("What happened.", "What happened next."))

    code, out, _ = run_import(path)

    assert code == 0
    warnings = [line for line in out.splitlines() if "under embargo" in line]
    assert warnings == [
        f"warning: {path}: “Story wire” is under embargo until 2026-03-02 12:00 UTC: "
        "it cannot be published before then."
    ]
    assert f"conflict: {path}: status: kept the editor's 'review', file has 'published'" in out
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW
    assert article.excerpt == "What happened next."  # the file is not lost
    assert [c["field"] for c in article.import_conflicts] == ["status"]


def test_a_scheduled_item_after_the_embargo_is_allowed(frozen_clock):
    moment = frozen_clock.now + dt.timedelta(hours=1)
    article = make_article(go_live_at=moment, embargo_until=moment)

    assert article.status == Article.Status.PUBLISHED and not article.is_published
    frozen_clock.advance(hours=1)
    assert article.is_published
    assert Article.objects.published().filter(pk=article.pk).exists()


def test_embargo_refused_by_publish_and_next(editor, embargoed):
    url = change_url(embargoed)
    data = form_data(editor.get(url), "article_form")
    for name in ("_save", "_continue", "_addanother", "_reject_next", "_save_next"):
        data.pop(name, None)
    data.update(_publish_next="Publish and next", quality="66")

    response = editor.post(url, data, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Saved, but not published: “Embargoed story”") for m in messages)
    assert_still_embargoed(embargoed)
    assert embargoed.quality == 66  # the rest of the edit is kept


def test_embargo_refused_when_taking_the_files_status_from_an_import_conflict(editor, embargoed):
    Article.objects.filter(pk=embargoed.pk).update(
        import_conflicts=[{"field": "status", "ours": "review", "theirs": "published"}]
    )
    url = reverse("admin:articles_article_resolve_conflict", args=[embargoed.pk, "status", "take"])

    response = editor.post(url, follow=True)

    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Nothing changed: “Embargoed story” is under embargo until")
    assert_still_embargoed(embargoed)


# -- Items dated ahead ------------------------------------------------------------------------


def _dated(path, moment, was=dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)):
    """`path` (a news_file) with its publishedDateTime moved from `was` to `moment`."""
    text = path.read_text()
    path.write_text(text.replace(f"{was:%Y-%m-%dT%H:%M:%SZ}", f"{moment:%Y-%m-%dT%H:%M:%SZ}"))
    return path


def test_an_item_dated_ahead_waits_for_its_date_then_goes_live(client, tmp_path, frozen_clock):
    """A published file whose date is still to come is scheduled for that date (it
    would head Latest and Top until then), says so in one line, and goes live then."""
    ahead = frozen_clock.now + dt.timedelta(days=3)
    path = _dated(news_file(tmp_path, "ahead"), ahead)

    code, out, _ = run_import(path)

    assert code == 0
    assert (
        f"warning: {path}: publishedDateTime 2026-03-05 10:00 UTC is still to come: "
        "the item goes live then (Go live at)"
    ) in out
    article = Article.objects.get(web_url="https://wire.example/ahead")
    assert (article.status, article.go_live_at, article.went_live_at) == (
        Article.Status.PUBLISHED,
        ahead,
        None,
    )
    assert not Article.objects.published().filter(pk=article.pk).exists()
    assert client.get(article.get_absolute_url()).status_code == 404
    assert "Story ahead" not in client.get("/feed/").content.decode()

    frozen_clock.advance(days=3)
    tasks.apply_schedules(frozen_clock.now)
    article.refresh_from_db()
    assert (article.go_live_at, article.went_live_at) == (None, ahead)
    assert client.get(article.get_absolute_url()).status_code == 200


def test_a_date_a_few_minutes_ahead_or_an_item_already_live_is_not_held_back(
    tmp_path, frozen_clock
):
    near = _dated(news_file(tmp_path, "near"), frozen_clock.now + dt.timedelta(minutes=5))
    live = _dated(news_file(tmp_path, "live"), frozen_clock.now - dt.timedelta(hours=1))
    assert run_import(near, live)[0] == 0
    # Upstream moves the live item's date ahead: it stays live, dated as the file says.
    _dated(
        live, frozen_clock.now + dt.timedelta(days=2), was=frozen_clock.now - dt.timedelta(hours=1)
    )
    code, out, _ = run_import(live)

    assert code == 0 and "is still to come" not in out
    visible = Article.objects.published().values_list("web_url", flat=True)
    assert set(visible) == {"https://wire.example/near", "https://wire.example/live"}


def test_an_item_waiting_for_its_date_follows_a_corrected_date(tmp_path, frozen_clock):
    """Upstream fixes the date it got wrong: the item waits for the new one, or goes
    live now when the new one has come."""
    path = _dated(news_file(tmp_path, "fixed"), frozen_clock.now + dt.timedelta(days=3))
    assert run_import(path)[0] == 0
    later = frozen_clock.now + dt.timedelta(days=1)
    _dated(path, later, was=frozen_clock.now + dt.timedelta(days=3))
    assert run_import(path)[0] == 0
    article = Article.objects.get(web_url="https://wire.example/fixed")
    assert (article.go_live_at, article.went_live_at) == (later, None)

    past = frozen_clock.now - dt.timedelta(hours=2)
    _dated(path, past, was=later)
    assert run_import(path)[0] == 0
    article.refresh_from_db()
    assert article.go_live_at is None and article.went_live_at == frozen_clock.now
    assert Article.objects.published().filter(pk=article.pk).exists()
