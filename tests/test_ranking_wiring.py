"""The writers recompute heat and score: the hook-up of ranking.recompute to the one write
path and the importer (docs/ranking.md, "Recomputing").

Each test fails when its hook-up is removed (receivers.recompute_ranking, the schema's
heat column, set_heat's pin).
"""

import io

import pytest
from django.core.management import call_command

from articles import ranking
from articles.models import Article
from tests.admin_support import change_url, changelist_row_prefix, changelist_url, form_data

from .factories import hours_ago, make_article, make_topic, run_import

pytestmark = pytest.mark.django_db


def news_file(folder, name, *, quality=84, heat=-1, related=2):
    """A news file as the upstream pipeline writes them, with `related` coverage entries."""
    lines = [
        "---",
        f'title: "Story {name}"',
        'excerpt: "What happened."',
        "publishedDateTime: 2026-11-30T10:00:00Z",
        f'webUrl: "https://wire.example/{name}"',
        "type: article",
    ]
    if quality is not None:
        lines += [f"quality: {quality}", f"heat: {heat}", "published: true"]
    lines += ["", "provider:", "  name: The Wire", "  domain: wire.example"]
    lines += ["", "topics:", "  - AI"]
    if related:
        lines += ["", "related:"]
        for n in range(related):
            lines += [
                f'  - title: "Take {n}"',
                f'    webUrl: "https://other{n}.example/{name}"',
                "    type: article",
                "    provider:",
                f"      name: Other {n}",
                f"      domain: other{n}.example",
                "    quality: 20",
            ]
    lines += ["", f'secured: "opaque-{name}=="', "---", ""]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"2026-11-30-{name}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _score(article):
    """The score the article's stored inputs give (ranking.explain, read afresh)."""
    inputs = ranking.inputs_for([article])[article.pk]
    return ranking.explain(inputs).score


# -- the importer -----------------------------------------------------------------------


def test_the_import_keeps_the_files_heat_and_computes_heat_and_score(tmp_path):
    """Wiring: the importer fills source_heat from the file's heat (-1 is unknown), and
    computes heat and score per batch (ranking.recompute of the batch's articles)."""
    news_file(tmp_path, "never-computed", quality=84, heat=-1, related=2)
    news_file(tmp_path, "hand-typed", quality=84, heat=90, related=0)
    news_file(tmp_path, "no-scores", quality=None, related=1)
    assert run_import(tmp_path)[0] == 0
    found = {
        a.web_url.rsplit("/", 1)[1]: (a.source_heat, a.heat, a.score is not None)
        for a in Article.objects.all()
    }
    assert found == {
        "never-computed": (None, 104, True),  # -1 in the file: unknown, written back as -1
        "hand-typed": (90, 84, True),
        "no-scores": (None, None, False),
    }
    for article in Article.objects.all():
        assert article.score == _score(article)


def test_a_reimport_with_more_coverage_moves_the_story(tmp_path):
    """Wiring: a re-import's changed related list recomputes the article."""
    news_file(tmp_path, "growing", quality=70, related=1)
    run_import(tmp_path)
    news_file(tmp_path, "growing", quality=70, related=3)
    run_import(tmp_path)
    article = Article.objects.get()
    assert article.heat == 100
    assert article.score == _score(article)


def test_the_export_writes_the_files_heat_back_unchanged(tmp_path):
    """Wiring: the exporter writes source_heat (not the computed or pinned heat)."""
    news_file(tmp_path / "in", "pinned-later", quality=84, heat=-1, related=2)
    run_import(tmp_path / "in")
    Article.objects.all().set_heat(150)
    call_command("export_yaml", str(tmp_path / "out"), stdout=io.StringIO())
    text = next((tmp_path / "out").glob("*.md")).read_text(encoding="utf-8")
    assert "\nheat: -1\n" in text
    assert Article.objects.get().heat_pin == 150


# -- the write path (ArticleQuerySet's write methods, the admin's saves) ----------------------


def test_set_heat_pins_and_minus_one_unpins():
    """Wiring: set_heat sets heat_pin (-1 or None: back to the computed heat)."""
    article = make_article(quality=60)
    Article.objects.filter(pk=article.pk).set_heat(150)
    article.refresh_from_db()
    assert (article.heat_pin, article.heat, article.score) == (150, 150, _score(article))
    Article.objects.filter(pk=article.pk).set_heat(-1)
    article.refresh_from_db()
    assert (article.heat_pin, article.heat, article.score) == (None, 60, _score(article))


def test_set_quality_recomputes():
    article = make_article(quality=60)
    Article.objects.filter(pk=article.pk).set_quality(120)
    article.refresh_from_db()
    assert (article.heat, article.score) == (120, _score(article))


def test_adding_or_removing_a_topic_with_a_modifier_recomputes():
    crypto = make_topic("Crypto", rank_hours=-24)
    article = make_article(quality=60)
    before = article.score
    Article.objects.filter(pk=article.pk).add_topic(crypto)
    article.refresh_from_db()
    assert article.score == pytest.approx(before - 24)
    Article.objects.filter(pk=article.pk).remove_topic(crypto)
    article.refresh_from_db()
    assert article.score == before


def test_the_change_form_recomputes_what_it_saved(editor, client):
    article = make_article(quality=60, published_at=hours_ago(5))
    data = form_data(client.get(change_url(article)), "article_form")
    data.update({"boost_hours": "6", "boost_reason": "exclusive", "heat_pin": "150"})
    assert client.post(change_url(article), data).status_code == 302
    article.refresh_from_db()
    assert (article.boost_hours, article.heat) == (6, 150)
    assert article.score == _score(article)


def test_coverage_added_in_the_change_form_recomputes(editor, client):
    article = make_article(quality=60, published_at=hours_ago(5))
    data = form_data(client.get(change_url(article)), "article_form")
    data.update(
        {
            "coverage-TOTAL_FORMS": "1",
            "coverage-0-position": "0",
            "coverage-0-type": "article",
            "coverage-0-title": "Another outlet's take",
            "coverage-0-url": "https://other.example/take",
        }
    )
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    article.refresh_from_db()
    assert article.coverage.count() == 1
    assert (article.heat, article.score) == (70, _score(article))


def test_a_list_edit_of_the_pin_recomputes(editor, client):
    article = make_article(quality=60)
    data = form_data(client.get(changelist_url()), "changelist-form")
    data.update({f"{changelist_row_prefix(data, article)}-heat_pin": "200", "_save": "Save"})
    assert client.post(changelist_url(), data).status_code == 302
    article.refresh_from_db()
    assert (article.heat, article.score) == (200, _score(article))
