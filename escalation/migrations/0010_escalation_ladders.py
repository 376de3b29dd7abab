"""Escalation ladders, policies per severity x type, impact conditions and duty rotas: the new
columns, nullable at first; 0010 fills them from the existing rows and 0011 makes them
required."""

import datetime
import django.core.validators
import django.db.models.deletion
import simple_history.models
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('escalation', '0009_notification_to_address'),
        ('incidents', '0015_roles_as_data_and_service_people'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='escalationlevel',
            options={'ordering': ['ladder', 'number']},
        ),
        migrations.AlterModelOptions(
            name='escalationpolicy',
            options={'ordering': ['severity__rank', 'name'], 'verbose_name_plural': 'escalation policies'},
        ),
        migrations.AddField(
            model_name='escalationpolicy',
            name='incident_type',
            field=models.ForeignKey(blank=True, help_text='Empty: every type without a policy of its own at this severity.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='escalation_policies', to='incidents.incidenttype', verbose_name='type'),
        ),
        migrations.AddField(
            model_name='escalationpolicy',
            name='slug',
            field=models.SlugField(max_length=60, null=True),
        ),
        migrations.AddField(
            model_name='historicalescalationpolicy',
            name='incident_type',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='Empty: every type without a policy of its own at this severity.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='incidents.incidenttype', verbose_name='type'),
        ),
        migrations.AddField(
            model_name='historicalescalationpolicy',
            name='slug',
            field=models.SlugField(max_length=60, null=True),
        ),
        migrations.AddField(
            model_name='historicalimpactrule',
            name='incident_type',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='Only incidents of this type; empty: every type.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='incidents.incidenttype', verbose_name='type'),
        ),
        migrations.AddField(
            model_name='historicalimpactrule',
            name='match',
            field=models.CharField(choices=[('any', 'Any condition'), ('all', 'All conditions')], default='any', max_length=3),
        ),
        migrations.AddField(
            model_name='historicalimpactrule',
            name='slug',
            field=models.SlugField(max_length=60, null=True),
        ),
        migrations.AddField(
            model_name='historicalrota',
            name='asks_to_triage',
            field=models.BooleanField(default=False, help_text='Whoever is on duty is asked to confirm the severity of each new incident that has no incident manager, and to assign one (if they may triage).', verbose_name='asked to triage new incidents'),
        ),
        migrations.AddField(
            model_name='historicalrota',
            name='slug',
            field=models.SlugField(max_length=60, null=True),
        ),
        migrations.AddField(
            model_name='impactrule',
            name='incident_type',
            field=models.ForeignKey(blank=True, help_text='Only incidents of this type; empty: every type.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='impact_rules', to='incidents.incidenttype', verbose_name='type'),
        ),
        migrations.AddField(
            model_name='impactrule',
            name='match',
            field=models.CharField(choices=[('any', 'Any condition'), ('all', 'All conditions')], default='any', max_length=3),
        ),
        migrations.AddField(
            model_name='impactrule',
            name='slug',
            field=models.SlugField(max_length=60, null=True),
        ),
        migrations.AddField(
            model_name='rota',
            name='asks_to_triage',
            field=models.BooleanField(default=False, help_text='Whoever is on duty is asked to confirm the severity of each new incident that has no incident manager, and to assign one (if they may triage).', verbose_name='asked to triage new incidents'),
        ),
        migrations.AddField(
            model_name='rota',
            name='duty_permissions',
            field=models.ManyToManyField(blank=True, help_text='What whoever is on duty may also do during their shift, whatever their groups (e.g. triage, change severity, assign roles).', related_name='duty_rotas', to='auth.permission'),
        ),
        migrations.AddField(
            model_name='rota',
            name='slug',
            field=models.SlugField(max_length=60, null=True),
        ),
        migrations.AlterField(
            model_name='escalationpolicy',
            name='severity',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='escalation_policies', to='incidents.severitylevel'),
        ),
        migrations.AlterField(
            model_name='historicalimpactrule',
            name='condition',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AlterField(
            model_name='historicalimpactrule',
            name='delay',
            field=models.DurationField(default=datetime.timedelta(0), help_text='0 = at once; e.g. 15m.'),
        ),
        migrations.AlterField(
            model_name='impactrule',
            name='condition',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AlterField(
            model_name='impactrule',
            name='delay',
            field=models.DurationField(default=datetime.timedelta(0), help_text='0 = at once; e.g. 15m.'),
        ),
        migrations.CreateModel(
            name='EscalationLadder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=60, null=True)),
                ('name', models.CharField(max_length=100, unique=True)),
                ('description', models.TextField(blank=True)),
                ('is_default', models.BooleanField(default=False, help_text='Used for incidents whose severity and type have no policy of their own, and for SLA breach notices before any escalation.')),
            ],
            options={
                'ordering': ['-is_default', 'name'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='one_default_escalation_ladder')],
            },
        ),
        migrations.AddField(
            model_name='escalationlevel',
            name='ladder',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='levels', to='escalation.escalationladder'),
        ),
        migrations.AddField(
            model_name='escalationpolicy',
            name='ladder',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='policies', to='escalation.escalationladder'),
        ),
        migrations.AddField(
            model_name='historicalescalationlevel',
            name='ladder',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='escalation.escalationladder'),
        ),
        migrations.AddField(
            model_name='historicalescalationpolicy',
            name='ladder',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='escalation.escalationladder'),
        ),
        migrations.CreateModel(
            name='HistoricalEscalationLadder',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('slug', models.SlugField(max_length=60, null=True)),
                ('name', models.CharField(db_index=True, max_length=100)),
                ('description', models.TextField(blank=True)),
                ('is_default', models.BooleanField(default=False, help_text='Used for incidents whose severity and type have no policy of their own, and for SLA breach notices before any escalation.')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical escalation ladder',
                'verbose_name_plural': 'historical escalation ladders',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalImpactCondition',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('attribute', models.CharField(choices=[('is_customer_facing', 'Customer-facing (flag)'), ('is_security', 'Security (flag)'), ('is_data_integrity', 'Data integrity (flag)'), ('is_compliance', 'Compliance (flag)'), ('customers_affected', 'Customers affected (count)'), ('customers_affected_pct', 'Customers affected (%)'), ('revenue_impact_per_hour', 'Revenue impact per hour'), ('incident_type', 'Type is')], max_length=30)),
                ('at_least', models.DecimalField(blank=True, decimal_places=2, help_text='For figures: matches at this value or more; empty means above zero.', max_digits=14, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                ('value', models.CharField(blank=True, help_text="For “type is”: the type's code, e.g. security.", max_length=60)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('rule', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='escalation.impactrule')),
            ],
            options={
                'verbose_name': 'historical impact condition',
                'verbose_name_plural': 'historical impact conditions',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalRota_duty_permissions',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('m2m_history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='escalation.historicalrota')),
                ('permission', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='auth.permission')),
                ('rota', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='escalation.rota')),
            ],
            options={
                'verbose_name': 'HistoricalRota_duty_permissions',
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ImpactCondition',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('attribute', models.CharField(choices=[('is_customer_facing', 'Customer-facing (flag)'), ('is_security', 'Security (flag)'), ('is_data_integrity', 'Data integrity (flag)'), ('is_compliance', 'Compliance (flag)'), ('customers_affected', 'Customers affected (count)'), ('customers_affected_pct', 'Customers affected (%)'), ('revenue_impact_per_hour', 'Revenue impact per hour'), ('incident_type', 'Type is')], max_length=30)),
                ('at_least', models.DecimalField(blank=True, decimal_places=2, help_text='For figures: matches at this value or more; empty means above zero.', max_digits=14, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                ('value', models.CharField(blank=True, help_text="For “type is”: the type's code, e.g. security.", max_length=60)),
                ('rule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conditions', to='escalation.impactrule')),
            ],
            options={
                'ordering': ['rule', 'id'],
                'constraints': [models.UniqueConstraint(fields=('rule', 'attribute', 'value'), name='one_impact_condition_per_attribute')],
            },
        ),
    ]
