from django.db import migrations

from incidents.defaults import SEVERITY_LEVELS
from incidents.permissions import GROUPS, grant


def seed(apps, schema_editor):
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    for level in SEVERITY_LEVELS:
        SeverityLevel.objects.get_or_create(code=level["code"], defaults=level)
    grant(apps, GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
