"""The image cache's task and its sweep jobs (listed in articles.tasks.SWEEP_JOBS)."""

from django_tasks import task

from . import cache


# Below the default priority: an import's or an editor's work goes first.
@task(priority=-10)
def fetch_image(source_id: int, force: bool = False) -> str:
    """Fetch, check and store one image (cache.cache_source); returns the outcome."""
    return cache.cache_source(source_id, force=force)


def discover_images(now) -> int:
    """Sweep job: register the image URLs pages show that are not known yet."""
    return cache.discover(now)


def enqueue_due_images(now) -> int:
    """Sweep job: queue a fetch of every image due (new, or its retry time reached)."""
    return cache.enqueue_due(now)
