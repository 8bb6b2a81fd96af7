"""Executions belong to an owner (any model) instead of a battles Response: runs is a
lower layer that knows nothing of battles. Existing rows keep their response as owner."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def responses_become_owners(apps: Any, schema_editor: Any) -> None:
    Execution = apps.get_model("runs", "Execution")
    if not Execution.objects.exists():
        return
    ContentType = apps.get_model("contenttypes", "ContentType")
    response_type, _ = ContentType.objects.get_or_create(app_label="battles", model="response")
    Execution.objects.update(owner_type=response_type, owner_id=models.F("response_id"))


def owners_become_responses(apps: Any, schema_editor: Any) -> None:
    Execution = apps.get_model("runs", "Execution")
    Execution.objects.update(response_id=models.F("owner_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="execution",
            name="owner_type",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="execution",
            name="owner_id",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AlterField(
            model_name="execution",
            name="response",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="executions",
                to="battles.response",
            ),
        ),
        migrations.RunPython(responses_become_owners, owners_become_responses),
        migrations.AlterField(
            model_name="execution",
            name="owner_type",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AlterField(
            model_name="execution",
            name="owner_id",
            field=models.PositiveBigIntegerField(),
        ),
        migrations.RemoveField(model_name="execution", name="response"),
        migrations.AddIndex(
            model_name="execution",
            index=models.Index(fields=["owner_type", "owner_id"], name="execution_owner"),
        ),
    ]
