"""Public pages. (Placeholder routes until the public-site issue lands.)"""

from django.http import Http404


def home(request):
    raise Http404


def topic(request, slug):
    raise Http404


def provider(request, domain):
    raise Http404


def detail(request, year, month, day, slug):
    raise Http404
