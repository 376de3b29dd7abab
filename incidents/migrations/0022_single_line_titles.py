"""Titles are one line from now on (they become mail subjects); join the lines of any title
stored before, so e-mails about those incidents can be sent again."""

from django.db import migrations


def join_title_lines(apps, schema_editor):
    from incidents.validation import single_line

    Incident = apps.get_model("incidents", "Incident")
    multi_line = Incident.objects.filter(title__regex=r"[\r\n\v\f]").only("pk", "title")
    for incident in multi_line.iterator():
        Incident.objects.filter(pk=incident.pk).update(title=single_line(incident.title)[:200])


class Migration(migrations.Migration):
    dependencies = [("incidents", "0021_form_submissions")]

    operations = [migrations.RunPython(join_title_lines, migrations.RunPython.noop)]
