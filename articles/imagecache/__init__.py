"""The images we host: lead images, outlets' logos and coverage thumbnails, fetched in
the background, checked, stored once per content and served as renditions.

- `cache`: which URLs, fetching one (claim, fetch, store, record), retry and replace;
  `cache.enqueue_for_articles(ids)` is the hook for articles just written
  (articles/receivers.py connects it to the write path's `articles_changed`);
- `fetcher`: the polite, safe HTTP GET (and the local folders of NEWSROOM_IMAGE_SOURCES);
- `renditions`: Pillow's checks, and the renditions written to the media storage;
- `pictures`: what a page shows for an image: a Rendition or a Placeholder;
- `tasks`: the `fetch_image` task and the sweep's two jobs.

README "Images" tells the whole story.
"""
