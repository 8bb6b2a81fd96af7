import secrets

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import arena.runs.models


def give_every_execution_a_token(apps, schema_editor):  # type: ignore[no-untyped-def]
    Execution = apps.get_model("runs", "Execution")
    for execution in Execution.objects.filter(preview_token__isnull=True).only("pk"):
        Execution.objects.filter(pk=execution.pk).update(preview_token=secrets.token_urlsafe(24))


class Migration(migrations.Migration):
    dependencies = [("runs", "0004_environments")]

    operations = [
        migrations.AddField(
            model_name="execution",
            name="stdin",
            field=models.TextField(blank=True, help_text="Standard input the rater gave the program."),
        ),
        migrations.AddField(
            model_name="execution",
            name="page",
            field=models.TextField(blank=True, help_text="The built document a preview serves."),
        ),
        migrations.AddField(
            model_name="execution",
            name="preview_token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(give_every_execution_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="execution",
            name="preview_token",
            field=models.CharField(
                default=arena.runs.models.new_preview_token, max_length=64, unique=True
            ),
        ),
        migrations.CreateModel(
            name="PreviewEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("load", "Load"), ("click", "Click"), ("key", "Key"), ("scroll", "Scroll"), ("resize", "Resize"), ("error", "Error"), ("blocked", "Blocked")], max_length=10)),
                ("data", models.JSONField(blank=True, default=dict)),
                ("client_at", models.DateTimeField(blank=True, help_text="The page's clock.", null=True)),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("execution", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="events", to="runs.execution")),
            ],
            options={"ordering": ["received_at", "id"]},
        ),
    ]
