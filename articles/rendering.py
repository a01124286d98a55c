"""Markdown bodies to sanitised HTML, done once when an article is saved or imported.

Markdown renders the text; nh3 (the Rust `ammonia` sanitiser) then keeps only a
short list of harmless tags and attributes and http(s) links, so hostile HTML in
an imported body never reaches a page.

Python-Markdown is recursive and, on some inputs (runs of `[` or `<a `), quadratic:
4 KB of brackets takes seconds, a kilobyte of nested list markers exhausts the
stack. `render_markdown()` therefore bounds each body: a body nested deeper than any
real text (MAX_OPEN_BRACKETS brackets, or MAX_NESTING list and quote markers on a
line) is refused before Markdown sees it, and a RecursionError or a body that takes longer than its
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
# Deeper than any article goes, and far below where Markdown's recursion or its
# quadratic bracket matching starts to cost: brackets open at once in one paragraph
# (outside code), and list or quote markers starting one line.
MAX_OPEN_BRACKETS = 256
MAX_NESTING = 64
_BRACKETS = re.compile(r"[\[\]]")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_FENCE = ("```", "~~~")
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
    """Whether `text` is nested deeper than any article: more than MAX_OPEN_BRACKETS
    `[` open at once in one paragraph (code and `\\[` left out), or a line starting
    with more than MAX_NESTING list or quote markers (`- - - x`, `> > ...`; a line of
    `- - -` or `* * *` alone is a rule, not a list)."""
    if text.count("[") > MAX_OPEN_BRACKETS and _brackets_too_deep(text):
        return True
    for found in _LINE_MARKERS.finditer(text):
        markers = _MARKER.findall(found.group())
        if len(markers) <= MAX_NESTING:
            continue
        line_end = text.find("\n", found.end())
        rest = text[found.end() : line_end if line_end != -1 else len(text)]
        if not rest.strip() and len(set(markers)) == 1 and markers[0] in "-*":
            continue  # a thematic break
        return True
    return False


def _brackets_too_deep(text: str) -> bool:
    depth, in_fence = 0, False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(_FENCE):
            in_fence = not in_fence
            continue
        if not stripped:
            depth = 0  # a paragraph ends: no link spans two
            continue
        if in_fence or line.startswith(("    ", "\t")):
            continue  # code
        for bracket in _BRACKETS.findall(_CODE_SPAN.sub("", line.replace("\\[", ""))):
            depth = depth + 1 if bracket == "[" else max(0, depth - 1)
            if depth > MAX_OPEN_BRACKETS:
                return True
    return False


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
