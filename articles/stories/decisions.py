"""Editors' decisions on stories: merge, split, choose the lead, accept or dismiss.

Each decision is kept as a constraint the grouping obeys on every later import and
rebuild, and written to the history (the admin's "History" of the story and of each
article it moved):

- merge: the other story's mentions move in; the member articles are `pinned`
  (the grouping never moves them again) and any "apart" between them is lifted;
- split: the article leaves, and is set apart (`StoryApart`) from every member: it is
  never put back, nor proposed again; it is then placed anew, as an import would
  (it may lead a story of its own coverage, or join another story);
- lead: the editor's choice stays (`Story.lead_chosen`) while it is a member;
- accept: the proposal's article and its match become one story (pinned);
- dismiss: the two are set apart, so the proposal never comes back.
"""

from __future__ import annotations

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import changes
from ..models import Article, Story, StoryApart, StoryMention, StoryProposal
from ..site.caching import invalidate_public_pages
from .grouping import assign_stories, refresh_stories

Kind = StoryMention.Kind


class DecisionError(ValueError):
    """A decision that cannot be made (the article is not a member, ...)."""


def members(story) -> list[int]:
    """The ids of a story's member articles."""
    return list(
        StoryMention.objects.filter(story=story, kind=Kind.ARTICLE).values_list(
            "article_id", flat=True
        )
    )


def merge(story: Story, other: Story, *, user=None) -> Story:
    """Make `other` part of `story`; returns `story`."""
    if story.pk == other.pk:
        raise DecisionError("A story cannot be merged with itself.")
    with transaction.atomic():
        _lock(story, other)
        ours, theirs = members(story), members(other)
        StoryMention.objects.filter(story=other).update(story=story, is_lead=False)
        _pin(story)
        _unset_apart(ours, theirs)
        other_label = str(other)
        other.delete()
        refresh_stories([story.pk])
        _log(user, story, f"Merged {other_label} into this story.", [*ours, *theirs])
    transaction.on_commit(invalidate_public_pages)  # once committed: see caching
    return story


def split(story: Story, article: Article, *, user=None):
    """Take `article` out of `story` for good."""
    with transaction.atomic():
        _lock(story)
        others = [pk for pk in members(story) if pk != article.pk]
        if len(others) == len(members(story)):
            raise DecisionError(f"“{article}” is not in this story.")
        _set_apart(article.pk, others, "split", user)
        StoryMention.objects.filter(article=article, story=story).update(
            story=None, is_lead=False, pinned=False
        )
        refresh_stories([story.pk])
        _log(user, story, f"Split “{article}” out of this story.", [article.pk])
        assign_stories([article.pk])
    transaction.on_commit(invalidate_public_pages)  # once committed: see caching


def set_lead(story: Story, article: Article, *, user=None):
    """Make `article` the story's lead."""
    with transaction.atomic():
        _lock(story)
        if article.pk not in members(story):
            raise DecisionError(f"“{article}” is not in this story.")
        Story.objects.filter(pk=story.pk).update(lead=article, lead_chosen=True)
        StoryMention.objects.filter(story=story, is_lead=True).update(is_lead=False)
        StoryMention.objects.filter(story=story, article=article, kind=Kind.ARTICLE).update(
            is_lead=True
        )
        story.lead, story.lead_chosen = article, True
        _log(user, story, f"Chose “{article}” as the lead.", [article.pk])
    transaction.on_commit(invalidate_public_pages)  # once committed: see caching


def accept(proposal: StoryProposal, *, user=None) -> Story:
    """The proposal's article and its match are one story; returns that story."""
    with transaction.atomic():
        proposal = _open(proposal)
        own = _story_of(proposal.article_id)
        theirs = _story_of(proposal.match_id)
        if own is not None and theirs is not None:
            story = merge(theirs, own, user=user) if own.pk != theirs.pk else theirs
        else:
            story = theirs or own or Story.objects.create()
            StoryMention.objects.filter(
                article_id__in=[proposal.article_id, proposal.match_id], kind=Kind.ARTICLE
            ).update(story=story)
            _pin(story)
            refresh_stories([story.pk])
            _log(user, story, f"Accepted proposal #{proposal.pk}.", [proposal.article_id])
        _decide(proposal, StoryProposal.Status.ACCEPTED, user)
        assign_stories([proposal.article_id])  # its coverage may follow it
    transaction.on_commit(invalidate_public_pages)  # once committed: see caching
    return story


def dismiss(proposal: StoryProposal, *, user=None):
    """The proposal's article is not part of its match's story: never propose it again."""
    with transaction.atomic():
        proposal = _open(proposal)
        theirs = _story_of(proposal.match_id)
        others = members(theirs) if theirs is not None else [proposal.match_id]
        _decide(proposal, StoryProposal.Status.DISMISSED, user)
        _set_apart(proposal.article_id, others, "dismissed", user)
        article = Article.objects.filter(pk=proposal.article_id).first()
        if article is not None:
            changes.record(
                [article.pk],
                {"story"},
                source=changes.Source.EDITOR,
                user=user,
                message=f"Dismissed story proposal #{proposal.pk}.",
            )


def _open(proposal):
    locked = StoryProposal.objects.select_for_update().filter(pk=proposal.pk).first()
    if locked is None or locked.status != StoryProposal.Status.OPEN:
        raise DecisionError("This proposal was decided already.")
    return locked


def _decide(proposal, status, user):
    proposal.status = status
    proposal.decided_at = timezone.now()
    proposal.decided_by = user if getattr(user, "pk", None) else None
    proposal.save(update_fields=["status", "decided_at", "decided_by"])


def _story_of(article_id):
    story_id = (
        StoryMention.objects.filter(article_id=article_id, kind=Kind.ARTICLE)
        .values_list("story_id", flat=True)
        .first()
    )
    return Story.objects.filter(pk=story_id).first() if story_id else None


def _lock(*stories):
    list(Story.objects.select_for_update().filter(pk__in=[s.pk for s in stories]).order_by("pk"))


def _pin(story):
    StoryMention.objects.filter(story=story, kind=Kind.ARTICLE).update(pinned=True)


def _set_apart(article_id, others, reason, user):
    StoryApart.objects.bulk_create(
        [
            StoryApart(
                article_id=min(article_id, other),
                other_id=max(article_id, other),
                reason=reason,
                created_by=user if getattr(user, "pk", None) else None,
            )
            for other in others
            if other != article_id
        ],
        ignore_conflicts=True,
    )
    either_way = Q(article_id=article_id, match_id__in=others) | Q(
        match_id=article_id, article_id__in=others
    )
    StoryProposal.objects.filter(either_way, status=StoryProposal.Status.OPEN).delete()


def _unset_apart(ours, theirs):
    if ours and theirs:
        between = Q(article_id__in=ours, other_id__in=theirs)
        StoryApart.objects.filter(between | Q(article_id__in=theirs, other_id__in=ours)).delete()


def _log(user, story, message, article_ids):
    """One history entry on the story and on each article concerned."""
    if user is None or not getattr(user, "pk", None):
        return
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[story],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )
    # The articles' side goes through the one write path (history, updated_at, pages).
    changes.record(
        article_ids,
        {"story"},
        source=changes.Source.EDITOR,
        user=user,
        message=f"Story #{story.pk}: {message}",
    )
