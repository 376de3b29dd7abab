from django.db import migrations

from incidents.permissions import grant
from postmortems.permissions import GROUPS


def give_permissions(apps, schema_editor):
    grant(apps, GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0001_initial"),
        ("incidents", "0002_default_severities_and_groups"),
    ]

    operations = [migrations.RunPython(give_permissions, migrations.RunPython.noop)]
