"""Ladders, slugs and step numbers are filled in (0010): make them required and unique, and
drop the hard-coded impact condition the condition rows replace."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('escalation', '0011_ladders_rules_duties_data'),
        ('incidents', '0015_roles_as_data_and_service_people'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField(
            model_name='historicalimpactrule',
            name='condition',
        ),
        migrations.RemoveField(
            model_name='impactrule',
            name='condition',
        ),
        migrations.AlterField(
            model_name='escalationladder',
            name='slug',
            field=models.SlugField(max_length=60, unique=True),
        ),
        migrations.AlterField(
            model_name='escalationlevel',
            name='ladder',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='levels', to='escalation.escalationladder'),
        ),
        migrations.AlterField(
            model_name='escalationlevel',
            name='number',
            field=models.PositiveSmallIntegerField(help_text='1 is the first line.', validators=[django.core.validators.MinValueValidator(1)]),
        ),
        migrations.AlterField(
            model_name='escalationpolicy',
            name='ladder',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='policies', to='escalation.escalationladder'),
        ),
        migrations.AlterField(
            model_name='escalationpolicy',
            name='slug',
            field=models.SlugField(max_length=60, unique=True),
        ),
        migrations.AlterField(
            model_name='historicalescalationladder',
            name='slug',
            field=models.SlugField(max_length=60),
        ),
        migrations.AlterField(
            model_name='historicalescalationlevel',
            name='number',
            field=models.PositiveSmallIntegerField(help_text='1 is the first line.', validators=[django.core.validators.MinValueValidator(1)]),
        ),
        migrations.AlterField(
            model_name='historicalescalationpolicy',
            name='slug',
            field=models.SlugField(max_length=60),
        ),
        migrations.AlterField(
            model_name='historicalimpactrule',
            name='slug',
            field=models.SlugField(max_length=60),
        ),
        migrations.AlterField(
            model_name='historicalrota',
            name='slug',
            field=models.SlugField(max_length=60),
        ),
        migrations.AlterField(
            model_name='impactrule',
            name='slug',
            field=models.SlugField(max_length=60, unique=True),
        ),
        migrations.AlterField(
            model_name='rota',
            name='slug',
            field=models.SlugField(max_length=60, unique=True),
        ),
        migrations.AddConstraint(
            model_name='escalationlevel',
            constraint=models.UniqueConstraint(fields=('ladder', 'number'), name='one_level_number_per_ladder'),
        ),
        migrations.AddConstraint(
            model_name='escalationpolicy',
            constraint=models.UniqueConstraint(condition=models.Q(('incident_type__isnull', False)), fields=('severity', 'incident_type'), name='one_escalation_policy_per_severity_and_type'),
        ),
        migrations.AddConstraint(
            model_name='escalationpolicy',
            constraint=models.UniqueConstraint(condition=models.Q(('incident_type__isnull', True)), fields=('severity',), name='one_escalation_policy_per_severity_for_any_type'),
        ),
        migrations.AddConstraint(
            model_name='escalationstep',
            constraint=models.UniqueConstraint(fields=('policy', 'order'), name='one_escalation_step_per_order'),
        ),
    ]
