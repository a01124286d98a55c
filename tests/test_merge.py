"""The three-way merge, case by case."""

import pytest

from articles.ingest.merge import Conflict, merge, merge_field


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "expected", "conflict"),
    [
        (1, 1, 1, 1, False),  # nothing changed
        (1, 1, 2, 2, False),  # only the file changed: take it
        (1, 2, 1, 2, False),  # only the editor changed: keep it
        (1, 2, 2, 2, False),  # both made the same change
        (1, 2, 3, 2, True),  # both changed, differently: editor wins, reported
        (None, 5, None, 5, False),  # editor filled an unknown value, file still unknown
        (None, None, 7, 7, False),  # file learnt the value
        (["AI"], ["AI", "Robots"], ["AI", "Vision"], ["AI", "Robots"], True),  # lists whole
        (["AI"], ["AI"], ["AI", "Vision"], ["AI", "Vision"], False),
    ],
)
def test_merge_field(base, ours, theirs, expected, conflict):
    assert merge_field(base, ours, theirs) == (expected, conflict)


def test_merge_reports_each_conflicting_field():
    base = {"title": "Old", "quality": 10, "heat": 5}
    ours = {"title": "Old", "quality": 99, "heat": 5}
    theirs = {"title": "New", "quality": 20, "heat": 5}
    values, conflicts = merge(base, ours, theirs)
    assert values == {"title": "New", "quality": 99, "heat": 5}
    assert conflicts == [Conflict("quality", 99, 20)]


def test_without_a_base_the_file_wins():
    values, conflicts = merge({}, {"title": "Mine"}, {"title": "File"})
    assert values == {"title": "File"} and conflicts == []


def test_a_field_new_to_the_format_counts_the_current_value_as_base():
    values, conflicts = merge(
        {"title": "A"}, {"title": "A", "body": "x"}, {"title": "A", "body": "y"}
    )
    assert values["body"] == "y" and conflicts == []
