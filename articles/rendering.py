"""Markdown bodies to sanitised HTML, done once when an article is saved or imported.

Markdown renders the text; nh3 (the Rust `ammonia` sanitiser) then keeps only a
short list of harmless tags and attributes and http(s) links, so hostile HTML in
an imported body never reaches a page.

Python-Markdown is recursive and, on some inputs (runs of `[` or `<a `), quadratic:
4 KB of brackets takes seconds, a kilobyte of nested list markers exhausts the
stack. `render_markdown()` therefore bounds each body: a body nested deeper than any
real text (MAX_NESTING brackets, or list and quote markers on a line) is refused
before Markdown sees it, and a RecursionError or a body that takes longer than its
time limit becomes a RenderError (one line, which the
importer reports for that file alone and the admin shows on the form). The time
limit is enforced with a timer signal, which only a process's main thread can use:
the import command, its parse workers and gunicorn's sync workers all render there.
Elsewhere (a threaded development server) the size limit on bodies still bounds it.
"""

import re
import signal
import threading

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul", "img", "figure", "figcaption",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
}
DEFAULT_TIME_LIMIT = 2.0  # seconds; the setting NEWSROOM_RENDER_TIME_LIMIT
# Deeper than this (open `[`, or list/quote levels on one line) no article goes; far
# below where Markdown's recursion or its quadratic bracket matching starts to cost.
MAX_NESTING = 64
_BRACKETS = re.compile(r"[\[\]]")
# A line's leading block markers: list bullets and numbers, quotes.
_LINE_MARKERS = re.compile(r"^[ \t]*(?:(?:[-*+>]|\d{1,9}[.)])[ \t]+)+", re.MULTILINE)
_MARKER = re.compile(r"[-*+>]|\d{1,9}[.)]")


class RenderError(Exception):
    """A body that cannot be rendered safely; `str()` is one line for the user."""


class _TimeUp(BaseException):
    # A BaseException so that no `except Exception` inside Markdown can swallow it.
    pass


def render_markdown(text: str, *, time_limit: float | None = DEFAULT_TIME_LIMIT) -> str:
    """`text` as sanitised HTML; raises RenderError instead of recursing or running long."""
    if too_deep(text):
        raise RenderError("the Markdown body is nested too deeply to render")
    try:
        return _within(time_limit, markdown_to_safe_html, text)
    except RecursionError:
        raise RenderError("the Markdown body is nested too deeply to render") from None
    except _TimeUp:
        raise RenderError(
            f"the Markdown body took more than {time_limit:g} s to render "
            "(setting NEWSROOM_RENDER_TIME_LIMIT)"
        ) from None


def too_deep(text: str) -> bool:
    """Whether `text` opens more than MAX_NESTING brackets at once, or one of its lines
    starts with more than MAX_NESTING list or quote markers (`- - - ...`, `> > ...`)."""
    if text.count("[") > MAX_NESTING:
        depth = 0
        for bracket in _BRACKETS.findall(text):
            depth = depth + 1 if bracket == "[" else max(0, depth - 1)
            if depth > MAX_NESTING:
                return True
    return any(
        len(_MARKER.findall(found.group())) > MAX_NESTING for found in _LINE_MARKERS.finditer(text)
    )


def markdown_to_safe_html(text: str) -> str:
    if not text or not text.strip():
        return ""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return sanitize_html(html)


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        url_relative="deny",
    )


def _within(seconds, function, *args):
    """`function(*args)`, interrupted by _TimeUp after `seconds` where a timer can be used."""
    if (
        not seconds
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        return function(*args)

    def time_up(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, time_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
