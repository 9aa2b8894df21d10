"""Recovery codes stored before they were hashed (``trials.two_factor.services.recovery_code_stored``) are replaced
by their keyed hash: the same codes keep working, and none stays in clear."""

import re

from django.db import migrations
from django.utils.crypto import salted_hmac

SALT = "cosmo_avatar.two_factor.recovery_code"  # trials.two_factor.services.RECOVERY_CODE_SALT
CLEAR = re.compile(r"^[a-z2-7]{8}$")  # a code as django-otp makes it; a stored hash is 16 hexadecimal digits


def hash_clear_codes(apps, schema_editor):  # type: ignore[no-untyped-def]
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.all():
        if CLEAR.match(token.token):
            token.token = salted_hmac(SALT, token.token, algorithm="sha256").hexdigest()[:16]
            token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("trials", "0003_api_idempotency_key"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(hash_clear_codes, migrations.RunPython.noop)]
