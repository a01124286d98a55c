"""The editorial admin: the ModelAdmins (model_admins, stories, image_cache), their forms
and uploaded images; the task queue's results and index panel (task_queue); the
desk's queue walk and related-story choices (desk); importing uploaded files (uploads).

Django's admin autodiscovery imports `articles.admin`; importing the modules here
registers every ModelAdmin.
"""

from django.contrib import admin

from . import desk, image_cache, model_admins, stories, task_queue, uploads  # noqa: F401

# The editors' tool is this product, not "Django administration".
admin.site.site_header = "Newsroom"
admin.site.site_title = "Newsroom desk"
admin.site.index_title = "Desk"
# Autocomplete answers that say an article's outlet, date and status (set before the
# admin's URLs are built, which read this attribute).
admin.site.autocomplete_view = lambda request: desk.ArticleChoicesView.as_view(
    admin_site=admin.site
)(request)
