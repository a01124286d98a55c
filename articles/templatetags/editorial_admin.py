"""Template tags for the editorial admin's own pages."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def editorial_summary(context):
    """The admin index's at-a-glance numbers (see articles.admin.editorial_summary)."""
    from articles.admin import editorial_summary

    return editorial_summary(context["request"].user)


@register.filter
def http_url(value):
    """The URL itself if it is a plain http(s) URL, else "" (never a javascript: link)."""
    from articles.links import is_http_url

    return value if is_http_url(value) else ""
