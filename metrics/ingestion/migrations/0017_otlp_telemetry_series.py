"""OTLP points split in two: a series (name, attributes, what it feeds) stored once in ``TelemetrySeries``,
its points (time, value) in a narrow ``TelemetryPoint``.  The attributes and the 64-character series key
were repeated in every point; the old table's points are copied over (one series per data source and key,
described by its first point), then the old table is dropped."""

from django.db import migrations, models
import django.db.models.deletion

BATCH = 2000


def copy_points(apps, schema_editor):
    Old = apps.get_model("ingestion", "TelemetryPointOld")
    Series = apps.get_model("ingestion", "TelemetrySeries")
    Point = apps.get_model("ingestion", "TelemetryPoint")
    series: dict[tuple[int, str], int] = {}
    points = []
    for old in Old.objects.order_by("id").iterator(chunk_size=BATCH):
        key = (old.data_source_id, old.series)
        if key not in series:
            series[key] = Series.objects.create(
                data_source_id=old.data_source_id,
                key=old.series,
                signal=old.signal,
                name=old.name,
                unit=old.unit,
                tool=old.tool,
                user_key=old.user_key,
                usage_field=old.usage_field,
                model=old.model,
                model_field=old.model_field,
                known="",  # classified again by the receiver when the series is next sent
                attributes=old.attributes,
                received_at=old.received_at,
            ).pk
        points.append(
            Point(
                series_id=series[key],
                start_ns=old.start_ns,
                time_ns=old.time_ns,
                day=old.day,
                cumulative=old.cumulative,
                value=old.value,
                received_at=old.received_at,
            )
        )
        if len(points) >= BATCH:
            Point.objects.bulk_create(points)
            points = []
    Point.objects.bulk_create(points)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_datasource_kinds_all"),
        ("ingestion", "0016_usage_day_first"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="telemetrypoint", name="telemetry_day_tool_user"),
        migrations.RemoveConstraint(model_name="telemetrypoint", name="uniq_telemetry_point_time"),
        migrations.RenameModel(old_name="TelemetryPoint", new_name="TelemetryPointOld"),
        migrations.CreateModel(
            name="TelemetrySeries",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(help_text="sha256 of signal, name and attributes", max_length=64)),
                ("signal", models.CharField(choices=[("metric", "Metric"), ("log", "Log")], max_length=6)),
                ("name", models.CharField(help_text="metric name, or a log record's event.name", max_length=200)),
                ("unit", models.CharField(blank=True, max_length=50)),
                ("tool", models.CharField(blank=True, help_text="the known tool of the name; empty = unknown", max_length=50)),
                ("user_key", models.CharField(blank=True, max_length=340)),
                ("usage_field", models.CharField(blank=True, help_text="the AIUsageDay field it feeds", max_length=30)),
                ("model", models.CharField(blank=True, max_length=100)),
                ("model_field", models.CharField(blank=True, help_text="the AIModelUsageDay field it feeds", max_length=30)),
                ("known", models.CharField(blank=True, help_text="the version of the known names that classified it", max_length=16)),
                ("attributes", models.JSONField(blank=True, default=dict)),
                ("received_at", models.DateTimeField(help_text="when its first point arrived")),
                (
                    "data_source",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.datasource",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "telemetry series",
                "constraints": [models.UniqueConstraint(fields=("key", "data_source"), name="uniq_telemetry_series")],
                "indexes": [models.Index(fields=["user_key", "tool"], name="telemetry_series_user_tool")],
            },
        ),
        migrations.CreateModel(
            name="TelemetryPoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("start_ns", models.BigIntegerField(default=0)),
                ("time_ns", models.BigIntegerField()),
                ("day", models.DateField(help_text="UTC day of time_ns")),
                ("cumulative", models.BooleanField(default=False, help_text="a cumulative sum: the value is a running total")),
                ("value", models.FloatField()),
                ("received_at", models.DateTimeField()),
                (
                    "series",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="points",
                        to="ingestion.telemetryseries",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("time_ns", "series", "start_ns"), name="uniq_telemetry_point_series")
                ],
                "indexes": [models.Index(fields=["day", "series"], name="telemetry_day_series")],
            },
        ),
        migrations.RunPython(copy_points, migrations.RunPython.noop),
        migrations.DeleteModel(name="TelemetryPointOld"),
    ]
