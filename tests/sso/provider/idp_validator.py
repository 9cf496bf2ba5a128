"""The claims the test provider sends: e-mail, email_verified, name and groups."""

import time

from idp_users import USERS
from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    # Every claim, whatever the scope asked (the app asks for openid, email and profile).
    oidc_claim_scope = None

    def get_additional_claims(self, request):
        user = USERS[request.user.username]
        return {
            "email": user["email"],
            "email_verified": user.get("email_verified", True),
            "name": user.get("name", request.user.username.title()),
            "groups": user["groups"],
        }

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        lifetime = USERS[request.user.username].get("id_token_lifetime")
        if lifetime is not None:
            claims["exp"] = int(time.time()) + lifetime
        return claims, expiration_time
