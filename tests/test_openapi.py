"""The APIs against their OpenAPI description (articles/site/openapi.yaml, served at
/api/openapi.yaml), by schemathesis: requests generated from the description, every
answer checked against it (status, content type, headers, body schema), other
methods refused with 405 and Allow."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from .factories import make_article, make_provider, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

schema = schemathesis.openapi.from_wsgi("/api/openapi.yaml", WSGIHandler())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the real WSGI handler, whose request signals close the
    database connection, and with it the test's transaction (PostgreSQL): held off
    for the test, as Django's test client does for each of its requests."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def stories():
    """A few published stories and a draft, so that pages and items have something in them."""
    ai = make_topic("AI", slug="ai-in-autos")
    provider = make_provider(
        logos=[{"url": "https://logos.example/x.jpg", "width": 50, "height": 50}]
    )
    for n in range(3):
        make_article(
            f"Story {n}", topics=[ai], provider=provider, source_path=f"n/2026-01-0{n + 1}-s.md"
        )
    make_article("Without image or heat", images=0, heat=None, topics=[ai])
    make_article("Draft", status="review", topics=[ai])


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_apis_keep_their_description(case, stories):
    # The in-process WSGI client asks for compressed answers but does not decompress
    # them; compression has its own tests (tests/test_http.py).
    case.call_and_validate(headers={"Accept-Encoding": "identity"})
