"""Background jobs of the accounts app: the password reset mail.

`password_reset_request` (accounts/services.py) queues one job per login through the outbox;
the job makes the one-time link when it sends, so no token waits in the outbox table, and a
mail server that is down delays the mail instead of failing the page.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import OperationalError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.services import can_reset_password

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, smtplib.SMTPException, ConnectionError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def send_password_reset(user_id: int, base_url: str) -> dict:
    """Mail the login `user_id` a link to choose a new password.

    Checks again that the login may reset (it may have been switched off or its person may
    have left since it asked). `base_url` is where the person asked from; SITE_URL, when set,
    wins over it. Run twice, it sends two links; the first one used makes both stale.
    """
    user = get_user_model()._default_manager.select_related("person").filter(pk=user_id).first()
    if user is None or not can_reset_password(user) or not user.email:
        return {"user": user_id, "sent": 0}
    site = (getattr(settings, "SITE_URL", "") or base_url).rstrip("/")
    link = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "username": user.get_username(),
        "reset_url": f"{site}{link}",
        "site_url": site,
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    subject = render_to_string("registration/password_reset_subject.txt", context)
    body = render_to_string("registration/password_reset_email.txt", context)
    sent = send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [user.email])
    logger.info("Password reset mail for user %s sent", user_id)
    return {"user": user_id, "sent": sent}
