"""The public page cache: what invalidates it (only what readers see, once committed),
and its settings (read once, by newsroom/settings.py). Every way of changing an
article is in tests/test_write_contract.py; here, the other rows readers see."""

import pytest
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.test import Client
from django.utils import timezone

from articles.models import (
    Article,
    ArticleImage,
    ImportRun,
    Provider,
    RelatedCoverage,
    TaggedTopic,
    Topic,
)
from articles.site import caching

from .factories import make_article, make_coverage, make_provider, make_topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def generation():
    """Reads the page cache's generation: it moves when cached pages are forgotten."""
    cache.clear()
    caching.current_generation()
    return caching.current_generation


# -- Only changes readers would see forget the cached pages --------------------------------


def test_import_run_bookkeeping_keeps_the_cached_pages(generation):
    before = generation()
    run = ImportRun.objects.create(paths=["/data/news"], command="import_yaml /data/news")
    run.files, run.unchanged, run.heartbeat_at = 10, 10, timezone.now()
    run.save()
    run.status, run.finished_at = ImportRun.Status.FINISHED, timezone.now()
    run.save()
    run.delete()

    assert generation() == before


def _rescore_article(article, spare):
    Article.objects.filter(pk=article.pk).set_quality(99)  # changes.record()


def _change_image(article, spare):
    image = ArticleImage.objects.get(article=article)
    image.title = "A picture"
    image.save()


def _add_coverage(article, spare):
    make_coverage(article)


def _change_provider(article, spare):
    article.provider.name = "Renamed Outlet"
    article.provider.save()


def _change_topic(article, spare):
    topic = article.topics.get()
    topic.name = "Renamed topic"
    topic.save()


def _tag(article, spare):
    article.topics.add(spare["topic"])  # taggit: m2m_changed


def _add_link_row(article, spare):
    TaggedTopic.objects.create(content_object=article, tag=spare["topic"])


def _untag(article, spare):
    TaggedTopic.objects.filter(content_object=article).delete()


def _relate(article, spare):
    article.related_stories.add(spare["article"])  # m2m_changed


def _delete_images(article, spare):
    ArticleImage.objects.filter(article=article).delete()


def _delete_article(article, spare):
    article.delete()


@pytest.mark.parametrize(
    "change",
    [
        _rescore_article,
        _change_image,
        _add_coverage,
        _change_provider,
        _change_topic,
        _tag,
        _add_link_row,
        _untag,
        _relate,
        _delete_images,
        _delete_article,
    ],
)
def test_changes_readers_see_forget_the_cached_pages(
    generation, change, django_capture_on_commit_callbacks
):
    article = make_article(topics=[make_topic()], images=1)
    spare = {"topic": make_topic(), "article": make_article()}
    before = generation()

    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        change(article, spare)
        assert generation() == before  # not before the change commits
    for callback in on_commit:
        callback()

    assert generation() != before


def test_deleting_an_article_alone_forgets_the_cached_pages(
    generation, django_capture_on_commit_callbacks
):
    article = make_article(images=0)  # nothing else goes with it
    before = generation()
    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.filter(pk=article.pk).delete()  # the admin's delete action, too
    assert generation() != before


def test_a_new_outlet_or_topic_forgets_the_cached_pages(
    generation, django_capture_on_commit_callbacks
):
    before = generation()
    with django_capture_on_commit_callbacks(execute=True):
        make_provider()
    assert generation() != before
    before = generation()
    with django_capture_on_commit_callbacks(execute=True):
        make_topic()
    assert generation() != before


def test_the_signals_listen_to_the_shown_models_only():
    assert not post_save.has_listeners(ImportRun)
    # An article's writers report through changes.record(), not through post_save.
    assert not post_save.has_listeners(Article) and post_delete.has_listeners(Article)
    for model in (ArticleImage, RelatedCoverage, Provider, Topic, TaggedTopic):
        assert post_save.has_listeners(model) and post_delete.has_listeners(model), model


# -- Settings: read once at start-up, not per request --------------------------------------


def test_the_page_cache_reads_its_settings_not_the_environment(client, monkeypatch, settings):
    """A bad value in the environment is refused at start-up (tests/test_settings.py);
    a request never reads it again (it used to fail every request with a 500)."""
    for name in ("NEWSROOM_PAGE_CACHE", "NEWSROOM_PAGE_CACHE_SECONDS", "NEWSROOM_PAGE_MAX_AGE"):
        monkeypatch.setenv(name, "not a number")
    settings.NEWSROOM_PAGE_MAX_AGE = 42
    make_article()

    response = client.get("/")

    assert response.status_code == 200
    assert "max-age=42" in response["Cache-Control"]


def test_pages_are_kept_as_long_as_the_setting_says(client, monkeypatch, settings):
    settings.NEWSROOM_PAGE_CACHE = True
    settings.NEWSROOM_PAGE_CACHE_SECONDS = 7
    cache.clear()
    kept = []
    real_set = caching.cache.set

    def spy(key, value, timeout=None, **kwargs):
        if key.startswith(caching.KEY_PREFIX):
            kept.append(timeout)
        return real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(caching.cache, "set", spy)
    make_article()

    assert Client().get("/").status_code == 200
    assert kept == [7]


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(True, True), (False, False), ("1", True), ("0", False), ("off", False), ("yes", True)],
)
def test_the_switch_takes_booleans_and_the_strings_tests_set(settings, value, enabled):
    settings.NEWSROOM_PAGE_CACHE = value
    assert caching.cache_enabled() is enabled
