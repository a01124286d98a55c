"""Model rules: constraints, validation, the status QuerySet methods and their history."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from articles import models
from articles.models import Article, ArticleImage, Provider

from .factories import make_article, make_provider, make_topic

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value"),
    [("quality", -1), ("heat", -2)],
)
def test_score_constraints_are_enforced_by_the_database(field, value):
    article = make_article()
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.filter(pk=article.pk).update(**{field: value})


def test_quality_above_100_and_unknown_heat_are_fine():
    article = make_article(quality=167)
    assert (article.quality, article.heat) == (167, 167)  # no upper bound on either
    article.heat = -1
    article.save()
    article.refresh_from_db()
    assert article.heat is None  # -1 is stored as unknown


def test_web_url_and_provider_domain_are_unique():
    article = make_article()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_article(web_url=article.web_url)
    make_provider(domain="dup.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        Provider.objects.create(domain="dup.example", name="Again")


def test_clean_explains_bad_values():
    article = make_article()
    article.quality, article.heat, article.web_url = -5, -3, "javascript:alert(1)"
    with pytest.raises(ValidationError) as info:
        article.full_clean()
    errors = info.value.message_dict
    assert any("0 or more" in message for message in errors["quality"])
    assert any("-1" in message for message in errors["heat"])
    assert any("http" in message for message in errors["web_url"])


def test_slug_is_date_plus_title_and_url_is_dated():
    article = make_article("Robots & Us: A Love Story")
    date = article.published_at
    assert article.slug == f"{date:%Y-%m-%d}-robots-us-a-love-story"
    # The path names the date once: not again from the slug.
    assert article.get_absolute_url() == f"/{date:%Y}/{date:%m}/{date:%d}/robots-us-a-love-story/"


def test_body_is_rendered_once_and_sanitised():
    article = make_article(body="Hi <script>alert(1)</script> [x](javascript:alert(1)) **bold**")
    assert "<script>" not in article.body_html
    assert "javascript:" not in article.body_html
    assert "<strong>bold</strong>" in article.body_html


def test_published_rule_and_status_methods_with_history():
    editor = User.objects.create_user("ed", is_staff=True)
    review = make_article(status="review")
    published = make_article(status="published")
    rejected = make_article(status="rejected")
    assert list(Article.objects.published()) == [published]
    assert set(Article.objects.in_review()) == {review}

    assert Article.objects.filter(pk__in=[review.pk, published.pk]).publish(user=editor) == 1
    review.refresh_from_db()
    assert review.status == "published" and review.went_live_at is not None
    first_live = review.went_live_at
    assert Article.objects.filter(pk=review.pk).return_to_review(user=editor) == 1
    assert Article.objects.filter(pk=review.pk).publish(user=editor) == 1
    review.refresh_from_db()
    assert review.went_live_at == first_live  # the first time it went public
    assert Article.objects.filter(pk=rejected.pk).reject(user=editor) == 0  # already rejected
    entries = LogEntry.objects.filter(object_id=str(review.pk))
    assert entries.count() == 3 and all(e.user == editor for e in entries)


def test_score_and_topic_methods():
    editor = User.objects.create_user("ed", is_staff=True)
    a, b = make_article(quality=1), make_article(quality=2)
    both = Article.objects.filter(pk__in=[a.pk, b.pk])
    assert both.set_quality(150, user=editor) == 2
    assert both.set_quality(150, user=editor) == 0
    assert both.set_heat(170, user=editor) == 2  # a pin
    assert set(both.values_list("quality", "heat")) == {(150, 170)}
    assert both.set_heat(-1, user=editor) == 2  # unpinned: the computed heat again
    assert set(both.values_list("quality", "heat_pin", "heat")) == {(150, None, 150)}
    with pytest.raises(ValidationError):
        both.set_quality(-1)
    with pytest.raises(ValidationError):
        both.set_heat(-2)
    topic = make_topic("Robots")
    assert both.add_topic(topic, user=editor) == 2
    assert both.add_topic(topic, user=editor) == 0
    assert both.remove_topic(topic, user=editor) == 2
    assert LogEntry.objects.filter(object_id=str(a.pk)).count() == 5


def test_bulk_methods_work_in_id_batches(monkeypatch):
    """Actions on "select all" touch rows in slices (a statement carries only so many
    parameters); every article is changed, whatever the slice size."""
    monkeypatch.setattr(models, "ID_BATCH_SIZE", 2)
    articles = [make_article(status="review", quality=1) for _ in range(5)]
    everything = Article.objects.filter(pk__in=[a.pk for a in articles])
    before = {a.pk: a.updated_at for a in articles}
    assert everything.publish() == 5
    assert everything.set_quality(9) == 5
    topic = make_topic("Batched")
    assert everything.add_topic(topic) == 5
    assert Article.objects.filter(topics=topic).count() == 5
    assert everything.remove_topic(topic) == 5
    assert not Article.objects.filter(topics=topic).exists()
    for article in Article.objects.filter(pk__in=before):
        assert (article.status, article.quality) == ("published", 9)
        assert article.updated_at > before[article.pk]


def test_postgres_bulk_writes_past_the_parameter_limit():
    """Server-side binding allows 65,535 parameters a statement; newsroom.postgresql
    cuts bulk_update() (and cascade deletes) into batches that fit: 4,400 rows of seven
    fields here need 66,000."""
    if connection.vendor != "postgresql":
        pytest.skip("the limit belongs to PostgreSQL's server-side binding")
    article = make_article(images=0)
    images = ArticleImage.objects.bulk_create(
        ArticleImage(article=article, position=0, url=f"https://img.example/{n}.jpg")
        for n in range(4_400)
    )
    other = make_article(images=0)
    for image in images:
        image.width, image.height, image.is_cached = 640, 360, True
        image.position, image.title, image.url = 1, "Updated", image.url + "?v=2"
        image.article = other
    fields = ["width", "height", "is_cached", "position", "title", "url", "article"]
    ArticleImage.objects.bulk_update(images, fields)
    assert other.images.filter(width=640, title="Updated").count() == 4_400


def test_topic_methods_bump_updated_at_for_the_stale_edit_guard():
    article = make_article()
    before = article.updated_at
    topic = make_topic("Chips")
    Article.objects.filter(pk=article.pk).add_topic(topic)
    article.refresh_from_db()
    assert article.updated_at > before
    after_add = article.updated_at
    Article.objects.filter(pk=article.pk).remove_topic(topic)
    article.refresh_from_db()
    assert article.updated_at > after_add and not article.topics.exists()
