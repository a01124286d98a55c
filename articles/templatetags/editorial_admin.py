"""Template tags for the editorial admin's own pages."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def editorial_summary(context):
    """The admin index's at-a-glance numbers (see articles.admin.model_admins.editorial_summary)."""
    from articles.admin.model_admins import editorial_summary

    return editorial_summary(context["request"].user)
