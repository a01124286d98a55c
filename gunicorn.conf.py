"""gunicorn settings for Newsroom (`gunicorn -c gunicorn.conf.py newsroom.wsgi`).

Every value can be changed without editing this file: gunicorn's own command-line
flags and GUNICORN_CMD_ARGS win over it, and the GUNICORN_* variables below set
the common ones. docs/deploy.md explains the choices.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each handles one request at a time, and page rendering is CPU work
# (plus short database queries). The usual rule of thumb is 2 x cores + 1.
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
# Threads > 1 switches to the gthread worker: more concurrent requests per worker
# for slow clients or slow queries, at the cost of one database connection per thread.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Restart each worker after this many requests (with jitter, so not all at once):
# a cheap guard against slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 10
# Each worker loads Django itself (no preload), so `kill -HUP` (systemctl reload)
# starts workers with new code while the old ones finish: upgrades without downtime.
# Bad settings still stop start-up: gunicorn exits when a worker fails to boot.
preload_app = False

# Both logs to stdout, as JSON lines like Django's own (newsroom/logformat.py).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "newsroom.logformat.JsonFormatter"},
        "access": {"()": "newsroom.logformat.GunicornAccessFormatter"},
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        },
        "access": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "access",
        },
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
