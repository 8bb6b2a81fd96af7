from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0007_server_apps"),
    ]

    operations = [
        migrations.AddField(
            model_name="execution",
            name="preview_side",
            field=models.CharField(
                choices=[("a", "A"), ("b", "B")],
                default="a",
                help_text="Which preview origin serves its page or app (PREVIEW_ORIGINS): the "
                "owner's side of a battle, so the two sides' previews are never same-origin.",
                max_length=1,
            ),
        ),
    ]
