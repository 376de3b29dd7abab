"""Managers see the login records of django-axes and may unlock accounts (see permissions.py)."""

from django.db import migrations

from incidents.permissions import LOGIN_RECORD_GROUPS, grant


def grant_login_records(apps, schema_editor):
    grant(apps, LOGIN_RECORD_GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0022_single_line_titles"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant_login_records, migrations.RunPython.noop)]
