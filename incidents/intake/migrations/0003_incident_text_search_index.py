"""A GIN index for similar-incident search on PostgreSQL (see incidents/intake/similar.py,
whose DOCUMENT expression it must equal). It lives here, with its only reader, rather than in
the incident core's migrations; SQLite uses a plain fallback and gets nothing."""

from django.db import migrations

# Frozen copy of incidents.intake.similar.DOCUMENT (a migration must not change with code).
DOCUMENT = ("(setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B'))")
INDEX = "intake_incident_text_search_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON incidents_incident USING gin ({DOCUMENT})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("intake", "0002_staff_permissions")]

    operations = [migrations.RunPython(create, drop)]
