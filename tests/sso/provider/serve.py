"""Starts the test OpenID Connect provider: migrates its SQLite database, creates its logins
(idp_users.py) and one confidential client, then serves on 127.0.0.1:$IDP_PORT.

Environment: IDP_PORT, IDP_DB, IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_REDIRECT_URIS and
IDP_LOGOUT_REDIRECT_URIS (space-separated)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "idp_settings"

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from idp_users import PASSWORD, USERS  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    for username, claims in USERS.items():
        User.objects.create_user(username, email=claims["email"], password=PASSWORD)
    Application.objects.create(
        name="IT product portfolio",
        client_id=os.environ["IDP_CLIENT_ID"],
        client_secret=os.environ["IDP_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["IDP_REDIRECT_URIS"],
        post_logout_redirect_uris=os.environ["IDP_LOGOUT_REDIRECT_URIS"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    call_command(
        "runserver",
        f"127.0.0.1:{os.environ['IDP_PORT']}",
        use_reloader=False,
        use_threading=True,
        skip_checks=True,
    )


if __name__ == "__main__":
    main()
