"""Triage rules in procedure files: a slug names each rule (ids differ between installations),
rules may set the incident's type and page roles, integrations a default type.

Existing rules get a slug from their name; seed 001's default rules (0004) get the slugs the
issue-response preset uses, so loading that preset updates them instead of replacing them."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils.text import slugify

SEED_001_SLUGS = {
    "Error rate above 5% (seed 001: automatic rollback)": "error-rate-above-5-percent",
    "Critical errors in the last 5 minutes (seed 001: automatic rollback)":
        "critical-errors-in-5-minutes",
    "More than 25% of users affected (seed 001: P1)": "users-affected-above-25-percent",
}


def fill_slugs(apps, schema_editor):
    TriageRule = apps.get_model("intake", "TriageRule")
    HistoricalTriageRule = apps.get_model("intake", "HistoricalTriageRule")
    taken = set()
    for rule in TriageRule.objects.order_by("pk"):
        base = SEED_001_SLUGS.get(rule.name) or slugify(rule.name)[:96] or "rule"
        slug, number = base, 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        taken.add(slug)
        TriageRule.objects.filter(pk=rule.pk).update(slug=slug)
        HistoricalTriageRule.objects.filter(id=rule.pk).update(slug=slug)
    # History of rules deleted since: a slug of their name, for the record only.
    for row in HistoricalTriageRule.objects.filter(slug__isnull=True):
        HistoricalTriageRule.objects.filter(pk=row.pk).update(
            slug=slugify(row.name)[:100] or "rule")


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0025_status_page_version'),
        ('intake', '0005_rule_restricts_visibility'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalintegration',
            name='default_type',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='Type of the incidents it opens unless a rule says otherwise (empty: the default type).', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='incidents.incidenttype', verbose_name='default type'),
        ),
        migrations.AddField(
            model_name='historicaltriagerule',
            name='set_type',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='incidents.incidenttype', verbose_name='set type'),
        ),
        migrations.AddField(
            model_name='historicaltriagerule',
            name='slug',
            field=models.SlugField(db_index=False, max_length=100, null=True),
        ),
        migrations.AddField(
            model_name='integration',
            name='default_type',
            field=models.ForeignKey(blank=True, help_text='Type of the incidents it opens unless a rule says otherwise (empty: the default type).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='incidents.incidenttype', verbose_name='default type'),
        ),
        migrations.AddField(
            model_name='triagerule',
            name='page_roles',
            field=models.ManyToManyField(blank=True, help_text="Each role is paged as a required role is: whoever is on call on a rota that fills it, else the role's group.", related_name='+', to='incidents.incidentrole'),
        ),
        migrations.AddField(
            model_name='triagerule',
            name='set_type',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='incidents.incidenttype', verbose_name='set type'),
        ),
        migrations.AddField(
            model_name='triagerule',
            name='slug',
            field=models.SlugField(db_index=False, max_length=100, null=True),
        ),
        migrations.RunPython(fill_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='historicaltriagerule',
            name='slug',
            field=models.SlugField(db_index=True, max_length=100),
        ),
        migrations.AlterField(
            model_name='triagerule',
            name='slug',
            field=models.SlugField(max_length=100, unique=True),
        ),
    ]
