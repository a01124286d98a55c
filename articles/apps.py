from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Newsroom"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)
        from .receivers import connect
        from .topic_sort_keys import connect as connect_triggers

        connect()  # every side effect of a change to what the site holds, in one place
        connect_triggers(self)  # the database's own: dropped before every migrate, made after
