from django.urls import path, register_converter

from . import views


class TwoDigits:
    regex = "[0-9]{2}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{int(value):02d}"


register_converter(TwoDigits, "dd")

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("providers/<str:domain>/", views.provider, name="provider"),
    path("<int:year>/<dd:month>/<dd:day>/<slug:slug>/", views.detail, name="detail"),
]
