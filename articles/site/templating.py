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
        show_image=_image_renderer(env),
        show_card=_card_renderer(env),
    )
    env.filters.update(
        http_url=http_url,
        jsonld=jsonld,
        truncatechars=truncatechars,
        isodate=isodate,
        shortdate=shortdate,
    )
    return env


def _image_renderer(env):
    """`show_image(p, sizes, cls="", alt="", priority=False)`: articles/picture.html's macro
    for `p` (a pictures.Rendition or Placeholder, or an upload), kept per arguments.

    Its output depends on nothing but them (each is an immutable value: a Rendition is
    the same for the same stored picture), so keeping it is never stale. Not kept with
    DEBUG on, where templates are edited while the server runs.
    """

    def render(p, sizes, cls="", alt="", priority=False):
        macro = env.get_template("articles/picture.html").module.picture
        return Markup(macro(p, sizes, cls, alt, priority))

    return render if settings.DEBUG else lru_cache(maxsize=8192)(render)


def _card_renderer(env):
    """`show_card(card, featured=False)`: articles/macros.html's `card` macro for `card`
    (a public.Card), kept per arguments, as show_image keeps pictures.

    A Card is an immutable value holding everything its HTML shows (its "3 h ago"
    included, so a card whose age reads otherwise is another card): keeping the HTML
    is never stale, and a list page's twenty cards were most of its rendering. Not kept
    with DEBUG on, where templates are edited while the server runs.
    """

    def render(card, featured=False):
        macro = env.get_template("articles/macros.html").module.card
        return Markup(macro(card, featured=featured))

    return render if settings.DEBUG else lru_cache(maxsize=4096)(render)


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
