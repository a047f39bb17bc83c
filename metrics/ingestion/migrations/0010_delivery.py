# Delivery (DORA's five keys): where a deployment came from, and incidents linked to deployments.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('ingestion', '0009_seat_counts'),
    ]

    operations = [
        migrations.AddField(
            model_name='deployment',
            name='source',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='deployment',
            name='url',
            field=models.URLField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='deployment',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, db_index=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name='deployment',
            index=models.Index(fields=['repository', 'is_production', 'created_at'], name='deploy_repo_prod_idx'),
        ),
        migrations.CreateModel(
            name='Incident',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(max_length=40)),
                ('external_id', models.CharField(max_length=200)),
                ('title', models.TextField(blank=True)),
                ('severity', models.CharField(blank=True, max_length=40)),
                ('service', models.CharField(blank=True, max_length=200)),
                ('started_at', models.DateTimeField()),
                ('resolved_at', models.DateTimeField(null=True)),
                ('deployment_ref', models.CharField(blank=True, help_text='deployment id the source named', max_length=100)),
                ('sha', models.CharField(blank=True, max_length=64)),
                ('link', models.CharField(choices=[('explicit', 'Explicit'), ('sha', 'Sha'), ('last_before', 'Last Before'), ('none', 'None')], default='none', max_length=20)),
                ('url', models.URLField(blank=True, max_length=500)),
                ('updated_at', models.DateTimeField(auto_now=True, db_index=True)),
                ('deployment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='incidents', to='ingestion.deployment')),
                ('repository', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='incidents', to='core.repository')),
            ],
            options={
                'indexes': [models.Index(fields=['repository', 'started_at'], name='incident_repo_started_idx')],
                'constraints': [models.UniqueConstraint(fields=('source', 'external_id'), name='uniq_incident')],
            },
        ),
        migrations.CreateModel(
            name='DeliverySplit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=60)),
                ('method', models.CharField(max_length=10)),
                ('group', models.CharField(blank=True, max_length=10)),
                ('unit', models.CharField(max_length=20)),
                ('value', models.FloatField(null=True)),
                ('ci_low', models.FloatField(null=True)),
                ('ci_high', models.FloatField(null=True)),
                ('n', models.IntegerField()),
                ('n_treated', models.IntegerField(default=0)),
                ('n_clusters', models.IntegerField(default=0)),
                ('status', models.CharField(default='ok', max_length=20)),
                ('computed_at', models.DateTimeField(auto_now=True)),
            ],
        ),
    ]
