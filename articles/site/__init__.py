"""What readers see: the read model (public), addresses, the page cache, the Jinja2
templating, search, and the views, feeds, sitemaps and JSON API built on them."""
