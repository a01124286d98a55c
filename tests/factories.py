"""Plain functions that build rows for tests (no factory library needed)."""

import datetime as dt
import io
import itertools

from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from articles import ranking
from articles.models import Article, ArticleImage, Provider, RelatedCoverage, Topic

_seq = itertools.count(1)


def hours_ago(hours):
    """The moment `hours` hours before now (aware)."""
    return timezone.now() - dt.timedelta(hours=hours)


def make_provider(domain=None, name=None, **fields):
    n = next(_seq)
    domain = domain or f"outlet{n}.example"
    return Provider.objects.create(domain=domain, name=name or f"Outlet {n}", **fields)


def make_topic(name=None, slug=None, **fields):
    n = next(_seq)
    name = name or f"Topic {n}"
    from django.utils.text import slugify

    return Topic.objects.create(name=name, slug=slug or slugify(name), **fields)


def make_article(
    title=None,
    *,
    provider=None,
    status=Article.Status.PUBLISHED,
    topics=(),
    images=1,
    published_at=None,
    heat=None,
    **fields,
):
    """An article with its heat and score computed, as every writer leaves them.

    `heat` pins a heat, as an editor would; without it (or with -1) the heat is
    computed from the quality (50 unless given) and coverage.
    """
    n = next(_seq)
    title = title or f"Article number {n}"
    article = Article.objects.create(
        title=title,
        excerpt=fields.pop("excerpt", f"Excerpt of article {n}."),
        web_url=fields.pop("web_url", f"https://news.example/{n}/story"),
        published_at=published_at or timezone.now() - dt.timedelta(hours=n),
        provider=provider or make_provider(),
        status=status,
        quality=fields.pop("quality", 50),
        heat_pin=None if heat == -1 else heat,
        **fields,
    )
    for topic in topics:
        article.topics.add(topic)
    for position in range(images):
        ArticleImage.objects.create(
            article=article,
            position=position,
            url=f"https://img.example/{n}-{position}.jpg",
            width=1200,
            height=675,
            is_cached=True,
        )
    ranking.recompute([article.pk])
    article.refresh_from_db()
    return article


def make_coverage(article, url=None, **fields):
    """A coverage entry of `article`, whose heat and score follow."""
    n = next(_seq)
    coverage = RelatedCoverage.objects.create(
        article=article,
        title=fields.pop("title", f"Coverage {n}"),
        url=url or f"https://other.example/{n}",
        provider_name=fields.pop("provider_name", "Other Outlet"),
        provider_domain=fields.pop("provider_domain", "other.example"),
        quality=fields.pop("quality", 40),
        **fields,
    )
    ranking.recompute([article.pk])
    return coverage


def run_import(*paths, **options):
    """`manage.py import_yaml PATHS`: (exit status, stdout, stderr), as a shell sees them."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_yaml", *map(str, paths), stdout=out, stderr=err, **options)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = 1
    return code, out.getvalue(), err.getvalue()


def zip_of(files, compression=None) -> bytes:
    """A zip holding `files`, (member name, bytes) pairs, as an editor would upload it."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression or zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def news_file(n, **overrides) -> tuple[str, bytes]:
    """A news item's file as an editor uploads it, `(name, bytes)`: item `n` of
    tests.test_importer.make_item, with `overrides`."""
    from articles.ingest import itemfile
    from tests.test_importer import make_item

    return f"news/{n:03d}.md", itemfile.write(make_item(n, **overrides)).encode()
