from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Newsroom"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .caching import connect_signals

        connect_signals()
