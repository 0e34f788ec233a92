"""Webhook signing secrets: shown once at registration, stored encrypted (AES-GCM, keyed by
OBHVAT_WEBHOOK_SECRET_KEY), opened by the worker to sign each delivery."""

from __future__ import annotations

import uuid

from service.auth.keys import webhook_secret_key_for
from service.core.secretbox import SecretBox
from service.core.settings import Settings

PURPOSE = b"webhook-signing-secret"


def webhook_secret_box(settings: Settings) -> SecretBox:
    return SecretBox(webhook_secret_key_for(settings), purpose=PURPOSE)


def seal(box: SecretBox, webhook_id: uuid.UUID, secret: str) -> str:
    return box.seal(secret, context=str(webhook_id))


def unseal(box: SecretBox, webhook_id: uuid.UUID, stored: str) -> str:
    return box.open(stored, context=str(webhook_id))
