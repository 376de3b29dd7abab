from django.db import migrations

from incidents.intake.permissions import GROUPS
from incidents.permissions import grant


def seed(apps, schema_editor):
    grant(apps, GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_initial"),
        ("incidents", "0002_default_severities_and_groups"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
