"""The image cache: renditions, one copy per content, the fetch's outcome on record,
back-off, per-host limits, and the sweep's jobs."""

import datetime as dt
import io

import pytest
from django.core.files.storage import default_storage
from django_tasks_db.models import DBTaskResult
from PIL import Image

from articles import changes
from articles import tasks as sweep_tasks
from articles.imagecache import cache, pictures, renditions
from articles.models import ImageSource, StoredImage
from tests.conftest import FIXTURES
from tests.factories import make_article, make_coverage, make_provider, run_import
from tests.image_support import ImageServer, Route, animated_gif, image_bytes

pytestmark = pytest.mark.django_db

LUMEN = "2025-09-03-open-weight-model-family-lumen-3-tops-reasoning-benchmarks-at-a-fraction-of-the-compute.md"


@pytest.fixture
def server(settings):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = True
    settings.NEWSROOM_IMAGE_READ_TIMEOUT = 0.5
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 3
    with ImageServer() as running:
        yield running


def opened(name):
    with default_storage.open(name) as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
        return image


# -- renditions ------------------------------------------------------------------------------


def test_renditions_at_every_width_below_the_original_as_webp_and_jpeg():
    picture = renditions.store(image_bytes("JPEG", size=(1600, 900)))
    assert picture.widths == [100, 200, 400, 800, 1200]
    assert picture.fallback == "jpg"
    for width in picture.widths:
        for extension, kind in (("webp", "WEBP"), ("jpg", "JPEG")):
            image = opened(renditions.rendition_name(picture.sha256, width, extension))
            assert (image.format, image.size) == (kind, (width, round(900 * width / 1600)))
    assert opened(picture.original_name).size == (1600, 900)


def test_a_small_original_is_never_enlarged():
    picture = renditions.store(image_bytes("PNG", size=(50, 50)))
    assert picture.widths == [50]
    assert opened(renditions.rendition_name(picture.sha256, 50, "webp")).size == (50, 50)


def test_transparent_pictures_fall_back_to_png():
    picture = renditions.store(image_bytes("PNG", size=(300, 200), alpha=True))
    assert picture.fallback == "png"
    assert opened(renditions.rendition_name(picture.sha256, 200, "png")).mode == "RGBA"


def test_an_animation_is_reduced_to_a_still():
    picture = renditions.store(animated_gif(frames=3))
    assert picture.format == "GIF"
    for extension in ("webp", "jpg"):
        image = opened(renditions.rendition_name(picture.sha256, 120, extension))
        assert getattr(image, "n_frames", 1) == 1


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (400, 200), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90°: the picture is really 200 x 400
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    picture = renditions.store(out.getvalue())
    assert opened(renditions.rendition_name(picture.sha256, 200, "jpg")).size == (200, 400)


def test_renditions_are_smaller_than_the_original():
    data = image_bytes("JPEG", size=(1600, 900), quality=95)
    picture = renditions.store(data)
    assert picture.served_bytes["800.webp"] < picture.served_bytes["800.jpg"] < len(data)


def test_the_same_bytes_are_stored_once():
    data = image_bytes("JPEG", size=(640, 360))
    assert renditions.store(data).pk == renditions.store(data).pk
    assert StoredImage.objects.count() == 1


def test_renditions_go_through_any_django_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    picture = renditions.store(image_bytes("JPEG", size=(640, 360)))
    assert default_storage.exists(renditions.rendition_name(picture.sha256, 400, "webp"))
    assert not (settings.MEDIA_ROOT / "images").exists()  # nothing on the local disk


# -- one fetch, on record ---------------------------------------------------------------------


def source_for(url, **fields):
    cache.register([url])
    source = ImageSource.objects.get(url=url)
    if fields:
        ImageSource.objects.filter(pk=source.pk).update(**fields)
        source.refresh_from_db()
    return source


def test_a_good_image_is_cached(server, frozen_clock):
    server.routes["/a.jpg"] = Route(image_bytes("JPEG", size=(800, 450)))
    source = source_for(server.url("/a.jpg"))
    assert (source.status, source.host) == ("pending", "127.0.0.1")
    assert cache.cache_source(source.pk) == "cached"
    source.refresh_from_db()
    assert source.status == "cached"
    assert source.fetched_at == frozen_clock.now
    assert source.next_attempt_at is None
    assert source.picture.widths == [100, 200, 400, 800]
    assert len(source.picture.sha256) == 64


def test_the_same_image_at_two_urls_is_stored_once(server):
    data = image_bytes("JPEG", size=(640, 360))
    server.routes["/a.jpg"] = Route(data)
    server.routes["/copy/of/a.jpg"] = Route(data)
    first, second = source_for(server.url("/a.jpg")), source_for(server.url("/copy/of/a.jpg"))
    assert cache.cache_source(first.pk) == cache.cache_source(second.pk) == "cached"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.picture_id == second.picture_id
    assert StoredImage.objects.count() == 1
    assert len(default_storage.listdir("images")[0]) == 1  # one folder


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(b"<html>not a picture</html>"), "not an image"),
        (Route(b"gone", status=404, content_type="text/plain"), "HTTP 404"),
    ],
)
def test_a_failure_is_recorded_with_its_reason_and_not_retried(server, route, reason):
    server.routes["/x.jpg"] = route
    source = source_for(server.url("/x.jpg"))
    assert cache.cache_source(source.pk) == "failed"
    source.refresh_from_db()
    assert source.status == "failed"
    assert reason in source.failure_reason
    assert source.next_attempt_at is None  # for good, until an editor retries


def test_a_failure_worth_retrying_backs_off_then_stops(server, settings, frozen_clock):
    settings.NEWSROOM_IMAGE_RETRY_MINUTES = 5
    settings.NEWSROOM_IMAGE_MAX_ATTEMPTS = 3
    server.routes["/x.jpg"] = Route(b"busy", status=503, content_type="text/plain")
    source = source_for(server.url("/x.jpg"))
    waits = []
    for _ in range(3):
        assert cache.cache_source(source.pk) == "failed"
        source.refresh_from_db()
        waits.append(source.next_attempt_at and source.next_attempt_at - frozen_clock.now)
        frozen_clock.advance(hours=1)
    assert waits == [dt.timedelta(minutes=5), dt.timedelta(minutes=10), None]
    assert source.failure_reason == "HTTP 503 Service Unavailable"
    assert source.attempts == 3


def test_an_unexpected_error_is_recorded_not_raised(server, monkeypatch):
    server.routes["/a.jpg"] = Route(image_bytes("JPEG", size=(200, 100)))
    source = source_for(server.url("/a.jpg"))

    def broken(data):
        raise OSError("disk full")

    monkeypatch.setattr(renditions, "store", broken)
    assert cache.cache_source(source.pk) == "failed"
    source.refresh_from_db()
    assert source.failure_reason.startswith("OSError: disk full")
    assert source.next_attempt_at is not None


def test_a_failed_refetch_keeps_the_copy_we_have(server):
    server.routes["/a.jpg"] = Route(image_bytes("JPEG", size=(200, 100)))
    source = source_for(server.url("/a.jpg"))
    cache.cache_source(source.pk)
    server.routes["/a.jpg"] = Route(b"", status=404)
    assert cache.cache_source(source.pk, force=True) == "failed"
    source.refresh_from_db()
    assert source.status == "cached" and source.picture_id
    assert "HTTP 404" in source.failure_reason


def test_a_cached_image_is_not_fetched_again_unless_forced(server):
    server.routes["/a.jpg"] = Route(image_bytes("JPEG", size=(200, 100)))
    source = source_for(server.url("/a.jpg"))
    cache.cache_source(source.pk)
    assert cache.cache_source(source.pk) == "skipped"
    assert len(server.requests) == 1


def test_at_most_n_fetches_per_host_at_once(server, settings, frozen_clock):
    settings.NEWSROOM_IMAGE_HOST_CONCURRENCY = 2
    server.routes["/c.jpg"] = Route(image_bytes("JPEG", size=(200, 100)))
    later = frozen_clock.now + dt.timedelta(minutes=1)
    for path in ("/a.jpg", "/b.jpg"):  # two fetches from this host under way
        source_for(server.url(path), leased_until=later)
    third = source_for(server.url("/c.jpg"))
    assert cache.cache_source(third.pk) == "busy"
    assert server.requests == []
    third.refresh_from_db()
    assert third.status == "pending" and third.next_attempt_at > frozen_clock.now
    frozen_clock.advance(minutes=3)  # the leases ran out (their workers died)
    assert cache.cache_source(third.pk) == "cached"


def test_other_hosts_are_not_held_up(server, settings, frozen_clock):
    settings.NEWSROOM_IMAGE_HOST_CONCURRENCY = 1
    server.routes["/a.jpg"] = Route(image_bytes("JPEG", size=(200, 100)))
    source_for(
        "https://elsewhere.example/busy.jpg",
        leased_until=frozen_clock.now + dt.timedelta(minutes=1),
    )
    assert cache.cache_source(source_for(server.url("/a.jpg")).pk) == "cached"


# -- which URLs, and the sweep ----------------------------------------------------------------


def shown_article():
    provider = make_provider(
        logos=[{"url": "https://logos.example/a.png"}, {"url": "https://logos.example/b.png"}]
    )
    article = make_article(provider=provider, images=2)
    make_coverage(
        article,
        images=[{"url": "https://thumbs.example/c.jpg"}, {"url": "https://thumbs.example/d.jpg"}],
    )
    make_coverage(article, images=[])
    return article


def test_the_urls_pages_show_are_the_first_of_each_list():
    article = shown_article()
    lead = article.images.order_by("position").first().url
    assert cache.urls_shown() == {
        lead,
        "https://logos.example/a.png",
        "https://thumbs.example/c.jpg",
    }
    assert cache.urls_shown([article.pk]) == cache.urls_shown()
    assert cache.urls_shown([make_article(images=0, provider=make_provider()).pk]) == set()


def test_the_sweep_registers_new_images_and_queues_those_due(frozen_clock):
    shown_article()
    done = sweep_tasks.sweep.call(frozen_clock.now.isoformat())
    assert done["discover_images"] == 3
    assert done["enqueue_due_images"] == 3
    queued = DBTaskResult.objects.filter(task_path="articles.imagecache.tasks.fetch_image")
    assert queued.count() == 3
    # Queued once: the next minute's sweep does not queue them again...
    frozen_clock.advance(minutes=1)
    again = sweep_tasks.sweep.call(frozen_clock.now.isoformat())
    assert again["discover_images"] == again["enqueue_due_images"] == 0
    # ...unless their task never ran (a lost queue): then after REQUEUE_AFTER.
    frozen_clock.advance(minutes=10)
    assert sweep_tasks.sweep.call(frozen_clock.now.isoformat())["enqueue_due_images"] == 3


def test_the_sweep_retries_a_failed_image_when_its_time_comes(frozen_clock):
    source = source_for(
        "https://img.example/x.jpg",
        status="failed",
        next_attempt_at=frozen_clock.now + dt.timedelta(minutes=5),
    )
    assert cache.enqueue_due(frozen_clock.now) == 0
    frozen_clock.advance(minutes=5)
    assert cache.enqueue_due(frozen_clock.now) == 1
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs["args"] == [source.pk]


def test_enqueue_for_articles_queues_their_images_after_commit(django_capture_on_commit_callbacks):
    article = shown_article()
    with django_capture_on_commit_callbacks(execute=True):
        assert cache.enqueue_for_articles([article.pk]) == 3
    assert DBTaskResult.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert cache.enqueue_for_articles([article.pk]) == 0  # queued already


def test_the_fetch_task_caches_the_image(server):
    from articles.imagecache.tasks import fetch_image

    server.routes["/a.jpg"] = Route(image_bytes("JPEG", size=(200, 100)))
    source = source_for(server.url("/a.jpg"))
    assert fetch_image.call(source.pk) == "cached"


def test_urls_too_long_for_the_index_are_not_cached():
    long_url = "https://img.example/" + "é" * 1000 + ".jpg"  # 2,000+ bytes
    assert cache.register([long_url, "ftp://img.example/a.jpg"]) == 0


# -- editors ---------------------------------------------------------------------------------


def test_replace_serves_the_editors_file_and_the_fetcher_leaves_it_alone(server):
    source = source_for(server.url("/a.jpg"), status="failed", failure_reason="HTTP 404")
    cache.replace(source, image_bytes("PNG", size=(300, 150)))
    assert (source.status, source.replaced, source.failure_reason) == ("cached", True, "")
    assert source.picture.width == 300
    assert cache.cache_source(source.pk, force=True) == "skipped"
    assert server.requests == []


def test_retry_fetches_again_now(server, django_capture_on_commit_callbacks):
    server.routes["/a.jpg"] = Route(image_bytes("JPEG", size=(200, 100)))
    source = source_for(server.url("/a.jpg"), status="failed", attempts=6, replaced=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert cache.retry(ImageSource.objects.filter(pk=source.pk)) == 1
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs == {"args": [source.pk], "kwargs": {"force": True}}
    assert cache.cache_source(source.pk, force=True) == "cached"


# -- what a page gets -------------------------------------------------------------------------


def test_a_rendition_names_our_files_with_sizes():
    picture = renditions.store(image_bytes("JPEG", size=(1600, 900)))
    shown = pictures.rendition(
        picture.sha256,
        picture.width,
        picture.height,
        picture.widths,
        picture.fallback,
        picture.served_bytes,
    )
    folder = f"/media/images/{picture.sha256[:2]}/{picture.sha256}/"
    assert shown.src == f"{folder}800.jpg"
    assert shown.srcset.split(", ")[0] == f"{folder}100.jpg 100w"
    assert shown.webp_srcset.split(", ")[-1] == f"{folder}1200.webp 1200w"
    assert (shown.width, shown.height) == (1200, 675)
    assert shown.share.bytes == picture.served_bytes["800.jpg"]
    assert shown.share.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("TechWire", "TW"),
        ("The Daily Circuit", "DC"),
        ("Signal & Noise", "SN"),
        ("cnet.com", "CC"),
        ("", "·"),
    ],
)
def test_placeholder_initials(name, expected):
    assert pictures.initials(name) == expected


def test_the_write_paths_signal_queues_the_images_an_import_brought(
    tmp_path, django_capture_on_commit_callbacks
):
    # Through the importer, changes.record() and articles/receivers.py: no sweep ran.
    item = (FIXTURES / "news" / LUMEN).read_text()
    (tmp_path / LUMEN).write_text(item)
    with django_capture_on_commit_callbacks(execute=True):
        code, _, err = run_import(tmp_path)
    assert code == 0, err
    lead = "https://images.example.org/news/2025/09/open-weight-model-family-lumen-3.jpg"
    queued = {task.args_kwargs["args"][0] for task in DBTaskResult.objects.all()}
    assert ImageSource.objects.get(url=lead).pk in queued
    assert queued == set(ImageSource.objects.values_list("pk", flat=True))


def test_a_change_that_shows_no_new_image_queues_nothing(django_capture_on_commit_callbacks):
    article = shown_article()
    with django_capture_on_commit_callbacks(execute=True):
        changes.record([article.pk], {"status"}, source=changes.Source.SYSTEM)
    assert DBTaskResult.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        changes.record([article.pk], {"coverage"}, source=changes.Source.SYSTEM)
    assert DBTaskResult.objects.count() == 3  # its lead image, logo and coverage thumbnail


def test_the_queue_holds_no_more_image_fetches_than_a_sweep_and_the_sweep_the_rest(
    settings, frozen_clock, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_IMAGE_SWEEP_BATCH = 2
    article = shown_article()
    with django_capture_on_commit_callbacks(execute=True):
        changes.record([article.pk], {"images"}, source=changes.Source.SYSTEM)
    assert DBTaskResult.objects.count() == 2
    assert ImageSource.objects.count() == 3  # all registered, the third one due
    # Two fetches wait for a worker: the queue is full, for a next write and the sweep.
    with django_capture_on_commit_callbacks(execute=True):
        changes.record([article.pk], {"images"}, source=changes.Source.SYSTEM)
    assert DBTaskResult.objects.count() == 2
    assert cache.enqueue_due(frozen_clock.now) == 0
    # A new article's images, written while the queue is full, wait for the sweep's
    # discovery (nothing could fetch them sooner).
    later = make_article(images=1)
    with django_capture_on_commit_callbacks(execute=True):
        changes.record([later.pk], {"images"}, source=changes.Source.SYSTEM)
    assert ImageSource.objects.count() == 3
    assert cache.discover(frozen_clock.now) == 1
    # A worker takes one: room for one more, the oldest due.
    DBTaskResult.objects.filter(pk=DBTaskResult.objects.order_by("pk")[0].pk).update(
        status="RUNNING"
    )
    assert cache.enqueue_due(frozen_clock.now) == 1
    assert DBTaskResult.objects.count() == 3
