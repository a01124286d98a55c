"""What the admin says about "Top": each article's "Why this rank", the list's Top column,
the review gate on the index, and a topic's modifier."""

import datetime as dt
import re
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import ranking
from articles.admin import review_gate
from articles.models import Article
from tests.admin_support import change_url, changelist_url, form_data, make_staff
from tests.factories import make_article, make_coverage, make_topic

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
REVIEW = Article.Status.REVIEW


def at(hours_before):
    return NOW - dt.timedelta(hours=hours_before)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def _why(client, article):
    """The "Why this rank" block of the article's change form, as text (cells joined by |)."""
    html = client.get(change_url(article)).content.decode()
    block = re.search(r'<p class="why-this-rank">.*?how Top works</a>', html, re.S).group(0)
    text = re.sub(r"</td><td>", " | ", block)
    return unescape(re.sub(r"<[^>]+>", "\n", text)).replace("\xa0", " ")


def _lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


# -- Why this rank ---------------------------------------------------------------------


def test_the_change_form_says_where_an_article_ranks_and_what_each_part_is_worth(editor, client):
    chips, ai = make_topic("Chips", rank_hours=4), make_topic("AI")  # AI: no modifier
    make_article("Pinned hot", heat=300, published_at=at(3), topics=[ai])
    article = make_article(
        "Main story",
        quality=89,
        boost_hours=6,
        boost_reason="exclusive",
        published_at=at(14),
        topics=[chips, ai],
    )
    for _ in range(5):
        make_coverage(article)

    lines = _lines(_why(client, article))
    assert lines[:2] == [
        "Ranks 2nd in Top, 1st in Chips, 2nd in AI.",
        "Heat 139, computed from quality and coverage.",
    ]
    assert lines[2:8] == [
        "published 2026-11-30 22:00 | 14 hours ago",
        "quality 89 | ≈ +93.8 h",
        "5 coverage articles | ≈ +9.2 h",
        "editor boost (exclusive) | +6 h",
        "topic Chips | +4 h",
        "in all | ≈ +113 h: as if published 2026-12-05 15:00",
    ]
    assert lines[8] == f"Formula version {ranking.VERSION}:"
    # The shown parts add up to the total they give.
    shown = [float(re.search(r"([+-][\d.]+) h", line).group(1)) for line in lines[3:7]]
    assert sum(shown) == pytest.approx(113, abs=0.1)


def test_out_of_range_values_are_form_errors_and_nothing_is_ranked_from_them(editor, client):
    article = make_article("Main story", quality=40)
    data = form_data(client.get(change_url(article)), "article_form")
    data.update(quality=str(2**31), heat_pin=str(2**63), boost_hours=str(2**63))

    response = client.post(change_url(article), data)

    assert response.status_code == 200  # the form again, with its errors: not a 500
    page = unescape(response.content.decode())
    assert "Quality must be at most 2,147,483,647." in page
    assert "A pinned heat must be at most 2,147,483,647." in page
    assert "At most 168 hours of boost." in page
    assert "Shown once the values above are valid." in page
    article.refresh_from_db()
    assert (article.quality, article.heat_pin, article.boost_hours) == (40, None, 0)


def test_a_waiting_story_would_rank_and_a_pinned_heat_says_so(editor, client):
    make_article("Published", quality=100, published_at=at(1))
    waiting = make_article("Waiting", quality=89, heat=150, status=REVIEW, published_at=at(2))
    lines = _lines(_why(client, waiting))
    assert lines[:2] == [
        "Would rank 1st in Top, if published.",
        "Heat 150, pinned by an editor (computed: 89).",
    ]
    assert lines[3] == "heat pinned at 150 | ≈ +104.6 h"


def test_an_unknown_heat_is_explained_not_ranked(editor, client):
    make_article("Known", quality=10, published_at=at(200))
    unknown = make_article("Unknown", quality=None, published_at=at(1))
    lines = _lines(_why(client, unknown))
    assert lines[:2] == ["Ranks 2nd in Top.", "Heat unknown (no quality and no pinned heat)."]
    assert lines[2] == "published 2026-12-01 11:00 | 1 hour ago"
    assert "after every ranked story, newest first" in lines[3]
    assert not any(line.startswith("in all") for line in lines)


def test_a_score_not_recomputed_yet_is_flagged(editor, client):
    article = make_article("Edited behind the ranking's back", quality=60)
    Article.objects.filter(pk=article.pk).update(quality=90)  # no recompute
    assert "not recomputed yet" in _why(client, article)
    html = client.get(changelist_url()).content.decode()
    assert re.search(r'not recomputed yet[^"]*">\+\d+ h\*</span>', html)


# -- the list's Top column -------------------------------------------------------------------


def test_the_list_shows_each_articles_hours_with_its_parts_in_a_tooltip(editor, client):
    crypto = make_topic("Crypto <b>", rank_hours=-12)
    article = make_article(quality=80, published_at=at(5), topics=[crypto])
    make_coverage(article)
    make_article("Unknown", quality=None)
    html = client.get(changelist_url()).content.decode()
    cells = re.findall(r'<td class="field-top_worth"><span title="([^"]*)">([^<]*)</span>', html)
    assert sorted(cells) == [
        (
            "Heat unknown (no quality and no pinned heat): after every ranked story, newest first.",
            "unranked",
        ),
        (
            "quality 80 ≈ +92 h · 1 coverage article ≈ +2 h · topic Crypto &lt;b&gt; -12 h · "
            "published 5\xa0hours ago",
            "+82 h",
        ),
    ]
    # Sorting by the column is sorting by the score, unknown lowest both ways.
    column = client.get(changelist_url()).context["cl"].list_display.index("top_worth")
    for sort, unknown_at in ((f"-{column}", -1), (f"{column}", 0)):
        response = client.get(changelist_url(), {"o": sort})
        assert [a.title for a in response.context["cl"].result_list][unknown_at] == "Unknown"


# -- the review gate -------------------------------------------------------------------------


def _gate(client):
    html = client.get(reverse("admin:index")).content.decode()
    found = re.search(r'<div class="module" id="review-gate">.*?</div>', html, re.S)
    if not found:
        return None
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


def _published_field(count, topic=None, quality=100):
    """`count` published stories, one an hour, all hotter than the waiting ones below."""
    for n in range(count):
        make_article(
            f"Live {n}", quality=quality, published_at=at(n), topics=[topic] if topic else []
        )


def test_the_index_lists_waiting_stories_that_would_make_a_top_five(editor, client):
    robots, chips = make_topic("Robots"), make_topic("Chips")
    _published_field(6, chips)
    make_article("Robots live", quality=10, published_at=at(50), topics=[robots])
    make_article("Hot <script>", heat=400, status=REVIEW, published_at=at(1), topics=[chips])
    make_article("Robots draft", quality=30, status=REVIEW, published_at=at(2), topics=[robots])
    make_article("Cold draft", quality=30, status=REVIEW, published_at=at(2), topics=[chips])
    make_article("Unknown draft", quality=None, status=REVIEW, published_at=at(0), topics=[robots])
    make_article("Rejected", heat=999, status=Article.Status.REJECTED, published_at=at(0))

    assert _gate(client) == [
        "Hot <script> would rank 1st in Top, 1st in Chips",
        "Robots draft would rank 1st in Robots",
    ]


def test_the_gate_costs_a_query_per_topic_not_per_waiting_story(editor, client):
    chips = make_topic("Chips")
    _published_field(6, chips)
    make_article("Hot draft", heat=400, status=REVIEW, published_at=at(0), topics=[chips])
    editor.has_perm("articles.view_article")  # (permissions are read once per user)
    with CaptureQueriesContext(connection) as few:
        assert review_gate.review_gate(editor).total == 1
    for n in range(30):
        make_article(
            f"Cold draft {n}", quality=5, status=REVIEW, published_at=at(9), topics=[chips]
        )
    with CaptureQueriesContext(connection) as many:
        assert review_gate.review_gate(editor).total == 1
    assert len(many) == len(few) == 6  # Top, topics, Chips's leaders, count, rows, their topics


def test_the_gate_shows_the_hottest_and_counts_the_rest(editor, client, monkeypatch):
    monkeypatch.setattr(review_gate, "GATE_SHOWN", 2)
    for n in range(4):
        make_article(f"Draft {n}", heat=100 + n, status=REVIEW, published_at=at(1))
    rows = _gate(client)
    assert rows[:2] == ["Draft 3 would rank 1st in Top", "Draft 2 would rank 1st in Top"]
    assert rows[2] == "2 more in the review queue would make a top 5"


def test_with_room_left_in_top_every_scored_waiting_story_would_make_it(editor, client):
    robots = make_topic("Robots")
    _published_field(2)
    make_article(
        "Draft in a topic", quality=20, status=REVIEW, published_at=at(30), topics=[robots]
    )
    make_article("Draft without topics", quality=10, status=REVIEW, published_at=at(40))
    assert _gate(client) == [
        "Draft in a topic would rank 3rd in Top, 1st in Robots",
        "Draft without topics would rank 3rd in Top",  # each as if published alone
    ]


def test_no_gate_when_nothing_waiting_would_make_it_or_for_who_cannot_see_articles(client):
    _published_field(5)
    make_article("Cold draft", quality=5, status=REVIEW, published_at=at(9))
    client.force_login(make_staff("ed", group="Editors"))
    assert _gate(client) is None

    make_article("Hot draft", heat=500, status=REVIEW, published_at=at(0))
    assert _gate(client) == ["Hot draft would rank 1st in Top"]
    client.force_login(make_staff("nobody"))  # staff without any article rights
    assert _gate(client) is None


# -- a topic's modifier -----------------------------------------------------------------------


def test_changing_a_topics_modifier_moves_its_stories_at_once(editor, client, admin_user):
    crypto = make_topic("Crypto", slug="crypto")
    inside = make_article("Crypto story", quality=100, published_at=at(1), topics=[crypto])
    make_article("Other story", quality=100, published_at=at(10))
    client.force_login(admin_user)  # editors may not change topics
    url = reverse("admin:articles_topic_change", args=[crypto.pk])
    data = form_data(client.get(url), "topic_form")
    data["rank_hours"] = "-24"
    response = client.post(url, data, follow=True)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Top recomputed for the 1 article in “Crypto”: 1 moved." in messages
    inside.refresh_from_db()
    assert inside.score == pytest.approx(make_article(quality=100, published_at=at(25)).score)
