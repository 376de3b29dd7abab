"""Every incident's category becomes its type: same code, one UPDATE per category (set-based,
so 100,000 incidents take five statements). History rows get the type too, so past versions
still say what kind of incident it was. A category with no type of that code (none exist by
default) falls back to the default type."""

from django.db import migrations

CATEGORIES = ("technical", "security", "infrastructure", "process", "business")


def category_to_type(apps, schema_editor):
    IncidentType = apps.get_model("incidents", "IncidentType")
    types = dict(IncidentType.objects.values_list("code", "pk"))
    default = (IncidentType.objects.filter(is_default=True).values_list("pk", flat=True).first()
               or types.get("technical"))
    for model_name in ("Incident", "HistoricalIncident"):
        model = apps.get_model("incidents", model_name)
        for code in CATEGORIES:
            model.objects.filter(category=code).update(incident_type_id=types.get(code, default))
        model.objects.filter(incident_type__isnull=True).update(incident_type_id=default)


def type_to_category(apps, schema_editor):
    IncidentType = apps.get_model("incidents", "IncidentType")
    for model_name in ("Incident", "HistoricalIncident"):
        model = apps.get_model("incidents", model_name)
        for incident_type in IncidentType.objects.filter(code__in=CATEGORIES):
            model.objects.filter(incident_type_id=incident_type.pk).update(
                category=incident_type.code)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0010_incident_types")]

    operations = [migrations.RunPython(category_to_type, type_to_category)]
