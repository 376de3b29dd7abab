"""The default escalation steps and rotas cited the seed documents they came from, e.g.
"(seed 004)": useful to us, noise to the people who read them. Strip those citations (the
sources are documented in migration 0003 and the README)."""

import re

from django.db import migrations

CITATION = re.compile(r"\s*\(seed \d{3}\)")


def strip_citations(apps, schema_editor):
    for model_name, field in (("EscalationStep", "action"), ("Rota", "description")):
        model = apps.get_model("escalation", model_name)
        for row in model.objects.filter(**{f"{field}__contains": "(seed "}):
            setattr(row, field, CITATION.sub("", getattr(row, field)))
            row.save(update_fields=[field])


class Migration(migrations.Migration):
    dependencies = [("escalation", "0005_readable_names")]

    operations = [migrations.RunPython(strip_citations, migrations.RunPython.noop)]
