# The report dashboard's cache version (incidents/reports/freshness.py), a PostgreSQL
# sequence. Issue 14.

from django.db import migrations

SEQUENCE = "incidents_reports_version"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0027_incident_search_trigram_indexes"),
    ]

    operations = [
        migrations.RunPython(create_sequence, drop_sequence),
    ]
