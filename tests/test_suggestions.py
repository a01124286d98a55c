"""Topic suggestions from the taxonomy (articles/suggestions.py) and manage.py suggest_topics."""

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from articles.models import Article, Topic
from articles.suggestions import hashtag_words, suggest, vocabulary
from tests.conftest import ROOT


def topic(name, keywords=(), hashtags=(), parent=None):
    return SimpleNamespace(
        name=name,
        keywords=list(keywords),
        hashtags=list(hashtags),
        parents=[parent] if parent else [],
    )


TAXONOMY = vocabulary(
    [
        topic("AI", ["artificial intelligence", "ai"], ["#AI"]),
        topic("AI in Security", ["security"], ["#security"], parent="AI"),
        topic("AI Ethics", ["ethics"], ["#Ethics"], parent="AI"),
        topic("AI in Healthcare", ["healthcare"], ["#healthcare"], parent="AI"),
        topic("Computer Vision", ["facial recognition"], ["#ComputerVision"], parent="AI"),
        topic("Google AI", ["deepmind"], ["#google"], parent="AI"),
        topic("TensorFlow", ["tensorflow"], parent="Google AI"),
        topic("AI Hardware", ["chip", "gpu"], parent="AI"),
    ]
)  # fmt: skip


def offered(**text):
    return {s.topic: s for s in suggest(TAXONOMY, **text) if s.offered}


def test_short_terms_match_only_in_capitals():
    assert "AI" not in offered(title="Ai Weiwei says the new law is the end")
    assert "AI" in offered(title="Where AI goes next")
    assert offered(title="Cheaper GPUs for everyone")["AI Hardware"].matched == ["GPUs"]


def test_hashtags_are_split_at_capitals():
    assert hashtag_words("#ComputerVision") == "Computer Vision"
    assert hashtag_words("#AI") == "AI"
    assert hashtag_words("#fintech") == "fintech"
    assert "Computer Vision" in offered(title="A leap for computer vision")


def test_word_forms_and_split_compounds_match():
    assert offered(title="Thinking ethically about models")["AI Ethics"].matched == ["ethically"]
    assert offered(title="Health care workers get a new app")["AI in Healthcare"].matched == [
        "Health care"
    ]
    assert offered(title="Nvidia's new chips")["AI Hardware"].matched == ["chips"]


def test_a_title_match_is_offered_a_single_excerpt_match_only_suggested():
    assert "AI in Security" in offered(title="Security cameras learn faces")
    weak = {s.topic: s for s in suggest(TAXONOMY, title="Cameras", excerpt="Security matters.")}
    assert weak["AI in Security"].offered is False and weak["AI in Security"].score == 1.0
    assert "AI in Security" in offered(title="Cameras", excerpt="Security, security.")


def test_coverage_counts_for_less_than_the_item_itself():
    weak = suggest(TAXONOMY, title="A new model", coverage=["DeepMind's model", "DeepMind again"])
    assert [(s.topic, s.score, s.offered) for s in weak] == [("Google AI", 1.0, False)]  # 2 x 0.5


def test_only_the_leading_topic_and_a_close_runner_up_are_ticked():
    # Security 2 (title) + 2 (excerpt) = 4; Computer Vision 2 + 1 = 3; Ethics 2.
    text = dict(
        title="Security cameras, facial recognition and ethics",
        excerpt="Security teams add facial recognition.",
    )
    found = {s.topic: s for s in suggest(TAXONOMY, **text)}
    assert {name for name, s in found.items() if s.offered} == {
        "AI in Security",
        "Computer Vision",  # 3 >= 0.75 x 4
        "AI",  # their parent
    }
    assert found["AI Ethics"].score == 2.0 and not found["AI Ethics"].offered  # shown, unticked
    alone = offered(title="Security cameras and ethics", excerpt="Security, security.")
    assert set(alone) == {"AI in Security", "AI"}  # Ethics 2 < 0.75 x 4


def test_an_offered_topic_brings_its_parents_marked_as_such():
    found = offered(title="TensorFlow 3 is out")
    assert found["TensorFlow"].matched == ["TensorFlow"]
    assert found["Google AI"].parent_of == "TensorFlow" and found["Google AI"].matched == []
    assert found["AI"].parent_of == "Google AI"


def test_best_suggestions_come_first():
    ranked = suggest(TAXONOMY, title="DeepMind", excerpt="Google's DeepMind and a GPU")
    assert [s.topic for s in ranked][:2] == ["Google AI", "AI"]


NEWS = """---
title: "DeepMind trains a model on new chips"
excerpt: "The chips, DeepMind says, cut the cost in half."
publishedDateTime: 2026-11-30T10:00:00Z
webUrl: "https://news.example/deepmind-chips"
provider:
  name: Example News
  domain: news.example
topics:
  - AI
  - Google AI
---
"""
TAXONOMY_FILE = """taxonomy: topic
_id: google-ai
name: Google AI
parent: AI
keywords:
  - deepmind
hashtags:
  - "#google"
"""


@pytest.mark.django_db
def test_the_command_prints_suggestions_as_json_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "news.md").write_text(NEWS)
    (tmp_path / "google-ai.yaml").write_text(TAXONOMY_FILE)
    Topic.objects.create(name="AI Hardware", slug="ai-hardware", keywords=["chip"])
    call_command("suggest_topics", "--json", str(tmp_path))
    output = json.loads(capsys.readouterr().out)
    [item] = output["items"]
    assert item["path"].endswith("news.md") and item["topics"] == ["AI", "Google AI"]
    by_topic = {s["topic"]: s for s in item["suggestions"]}
    assert by_topic["Google AI"]["matched"] == ["DeepMind"] and by_topic["Google AI"]["offered"]
    assert by_topic["AI Hardware"]["matched"] == ["chips"]  # from the database's topics
    assert Article.objects.count() == 0 and Topic.objects.count() == 1


@pytest.mark.django_db
def test_the_command_reports_unreadable_files_in_one_line(tmp_path, capsys):
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\n")
    (tmp_path / "news.md").write_text(NEWS)
    call_command("suggest_topics", str(tmp_path))
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "broken.md" in captured.err
    assert "Google AI (DeepMind)" not in captured.out  # no taxonomy here: nothing to match


def test_the_corpus_measurement_holds(corpus):
    """Precision and recall on the real corpus (docs/suggestions.md) do not slip."""
    result = subprocess.run(
        [sys.executable, "bench/topic_suggestions.py", str(corpus)],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={"DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    line = next(row for row in result.stdout.splitlines() if row.startswith("offered by default"))
    precision, recall = (float(x) for x in line.split()[3:5])
    assert precision >= 0.81 and recall >= 0.57, result.stdout
