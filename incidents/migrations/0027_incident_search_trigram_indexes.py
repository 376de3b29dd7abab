# The staff incident list's search (reference, title, description, any word anywhere, any
# case) served by trigram indexes on PostgreSQL instead of three scans of every incident
# (issue 14). The indexes are on UPPER(column), the expression Django's icontains compares.
# SQLite (the embedded default) has no trigram index: its search stays a plain filter.

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

COLUMNS = ("reference", "title", "description")


def index_name(column: str) -> str:
    return f"incidents_incident_{column}_trgm"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(column)} ON incidents_incident "
            f"USING gin (UPPER({column}) gin_trgm_ops)")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name(column)}")


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0026_checklist_item_applies'),
    ]

    operations = [
        # Does nothing on SQLite; on PostgreSQL 13+ pg_trgm is a trusted extension, which
        # the database's owner may create.
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
