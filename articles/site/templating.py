"""The Jinja2 environment of the public pages (templates/jinja2/, see settings.TEMPLATES).

Jinja2 compiles a template to Python code once; Django's template language walks
its node tree for every variable of every card, which was most of a page's time
without a cache. Everything from imported files is still escaped on output
(autoescape=True, set in settings), and these helpers keep the other rules:

- `http_url` is the gate every URL from imported data passes before it becomes an
  href or a src: anything but an absolute http(s) URL comes out empty, so the
  template's `{% if %}` leaves the link or image out;
- `jsonld` is the one inline script a page may carry (schema.org data), escaped so
  that nothing in the data can close the tag;
- `show_image` shows an image as we host it (articles/picture.html), rendered once per
  picture and place and then kept: a page has some 40 of them, and the macro call was
  a third of a home page's rendering; `show_card` does the same for a list's cards.
"""

import json
import unicodedata
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.defaultfilters import truncatechars as django_truncatechars
from django.templatetags.static import static
from django.urls import reverse
from jinja2 import Environment
from markupsafe import Markup

from .. import clock
from ..links import is_http_url
from . import public

# The same escaping as Django's json_script: nothing in the data can close the tag.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}

# Query parameters that change what a list page shows, with their default values:
# the canonical URL keeps these (minus defaults) and drops everything else.
_CANONICAL_PARAMS = {"view": "top", "page": "1", "q": ""}


def truncatechars(value, length):
    """Django's truncatechars, told only the part it can keep: it walks the text
    character by character, which for a long excerpt was a tenth of an article page."""
    text = str(value)
    if len(text) <= length:
        return text
    head = text[: 2 * length]  # room for combining marks, which Django does not count
    cut = django_truncatechars(head, length)
    if cut == unicodedata.normalize("NFC", head):  # (Django normalises) nothing was cut
        return django_truncatechars(text, length)
    return cut


def environment(**options):
    env = Environment(**options)
    env.globals.update(
        url=url,
        static=static,
        canonical_url=canonical_url,
        link_with=link_with,
        nav_topics=public.nav_topics,
        # show_image(p, sizes, cls="", alt="", priority=False): p a Rendition,
        # Placeholder or upload; show_card(card, featured=False).
        show_image=_kept_macro(env, "articles/picture.html", "picture", 8192),
        show_card=_kept_macro(env, "articles/macros.html", "card", 4096),
        show_coverage=_kept_macro(env, "articles/macros.html", "coverage_entry", 4096),
        show_story_link=_kept_macro(env, "articles/macros.html", "story_link", 4096),
    )
    env.filters.update(
        http_url=http_url,
        jsonld=jsonld,
        truncatechars=truncatechars,
        isodate=isodate,
        shortdate=shortdate,
    )
    return env


def _kept_macro(env, template, name, maxsize):
    """A macro of `template` as a function whose HTML is kept per arguments.

    For macros whose output depends on nothing but their arguments, each an immutable
    value: a pictures.Rendition is the same for the same stored picture; a public.Card,
    CoverageEntry or RelatedStory holds everything its HTML shows (a card's "3 h ago"
    included, so a card whose age reads otherwise is another card). Keeping the HTML
    is then never stale, and these pieces were most of a list page's and a story
    page's rendering. Not kept with DEBUG on, where templates are edited while the
    server runs.
    """

    def render(*args, **kwargs):
        macro = getattr(env.get_template(template).module, name)
        return Markup(macro(*args, **kwargs))

    return render if settings.DEBUG else lru_cache(maxsize=maxsize)(render)


@lru_cache(maxsize=1024)
def url(name, *args):
    """`{{ url("articles:topic", slug) }}`: Django's reverse(), memoised (the
    masthead and footer alone have seven links, and reverse() is slow)."""
    return reverse(name, args=args or None)


def http_url(value):
    """`value` if it is an absolute http(s) URL, else "" (never javascript:, data:, ...)."""
    return value if is_http_url(value) else ""


def jsonld(data):
    """`data` as a schema.org JSON-LD block, escaped so that it cannot break out."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    escaped = Markup(text.translate(_JSON_SCRIPT_ESCAPES))  # escaped just above
    return Markup('<script type="application/ld+json">{}</script>').format(escaped)


def isodate(value):
    """A datetime in the site's time zone, ISO 8601 (Django's `date:"c"`)."""
    return clock.local(value).isoformat() if value else ""


def shortdate(value):
    """A datetime in the site's time zone as "7 Mar 2026" (Django's `date:"j M Y"`)."""
    if not value:
        return ""
    date = clock.local(value)
    return f"{date.day} {date:%b %Y}"


def canonical_url(request):
    """This page's canonical absolute URL: the path plus the parameters that matter."""
    params = {
        name: request.GET[name]
        for name, default in _CANONICAL_PARAMS.items()
        if request.GET.get(name, default) != default
    }
    absolute = request.build_absolute_uri(request.path)
    return f"{absolute}?{urlencode(params)}" if params else absolute


def link_with(request, **changes):
    """This page's path with query parameters changed (None removes one).

    Never a bare trailing "?", so a page has one address (and one cache entry),
    e.g. /topics/ai/ rather than /topics/ai/?.
    """
    params = request.GET.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    query = params.urlencode()
    return f"{request.path}?{query}" if query else request.path
