"""The two editorial roles: Editors (may publish) and Contributors (may edit, not publish)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITABLE = ["article", "articleimage", "relatedcoverage", "provider", "topic", "taggedtopic"]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    articles = Permission.objects.filter(content_type__app_label="articles")

    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.set(
        articles.filter(content_type__model__in=EDITABLE)
        | articles.filter(codename__in=["view_importrun", "publish_article"])
    )

    contributors, _ = Group.objects.get_or_create(name="Contributors")
    contributors.permissions.set(
        articles.filter(
            codename__in=[
                "view_article",
                "change_article",
                "view_articleimage",
                "add_articleimage",
                "change_articleimage",
                "delete_articleimage",
                "view_relatedcoverage",
                "add_relatedcoverage",
                "change_relatedcoverage",
                "delete_relatedcoverage",
                "view_provider",
                "view_topic",
                "view_taggedtopic",
                "add_taggedtopic",
                "delete_taggedtopic",
                "view_importrun",
            ]
        )
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Editors", "Contributors"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
