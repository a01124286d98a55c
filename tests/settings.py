"""Test settings: the real settings with a throwaway key, fast hashing and a local cache."""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")

from newsroom.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The test client speaks plain HTTP; the redirect itself is tested in test_settings.py.
SECURE_SSL_REDIRECT = False
# Axes refuses `client.login()` (it needs the request); the lock-out test turns it on.
AXES_ENABLED = False
# Tests run without collectstatic: look for static files per request, not at start-up.
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
