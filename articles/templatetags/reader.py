"""Template helpers for the public pages.

`http_url` is the gate every URL from imported data passes before it becomes an href
or a src: anything but an absolute http(s) URL comes out empty, so the template's
`{% if %}` leaves the link or image out.
"""

import json
from urllib.parse import urlencode

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..links import is_http_url
from ..public import nav_topics

register = template.Library()

# The same escaping as Django's json_script: nothing in the data can close the tag.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def http_url(value):
    """`value` if it is an absolute http(s) URL, else "" (never javascript:, data:, ...)."""
    return value if is_http_url(value) else ""


@register.filter
def jsonld(data):
    """`data` as a schema.org JSON-LD block, escaped so that it cannot break out."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(text.translate(_JSON_SCRIPT_ESCAPES)),  # escaped just above
    )


@register.inclusion_tag("articles/includes/topic_nav.html")
def topic_nav(current=None):
    """The masthead's topic links; `current` is the slug of the topic page being shown."""
    return {"topics": nav_topics(), "current": current}


# Query parameters that change what a list page shows, with their default values:
# the canonical URL keeps these (minus defaults) and drops everything else.
_CANONICAL_PARAMS = {"view": "top", "page": "1", "q": ""}


@register.simple_tag(takes_context=True)
def canonical_url(context):
    """This page's canonical absolute URL: the path plus the parameters that matter."""
    request = context["request"]
    params = {
        name: request.GET[name]
        for name, default in _CANONICAL_PARAMS.items()
        if request.GET.get(name, default) != default
    }
    url = request.build_absolute_uri(request.path)
    return f"{url}?{urlencode(params)}" if params else url


@register.simple_tag(takes_context=True)
def link_with(context, **changes):
    """This page's path with query parameters changed (None removes one).

    Like `{% querystring %}`, but with the path and never a bare trailing "?", so a
    page has one address (and one cache entry), e.g. /topics/ai/ rather than /topics/ai/?.
    """
    request = context["request"]
    params = request.GET.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    query = params.urlencode()
    return f"{request.path}?{query}" if query else request.path
