"""The people the test provider knows: its logins, their claims, and how their tokens are made.

Read by the provider (to create the logins and answer the claims) and by the tests (to sign in
as them). One password for all.
"""

PASSWORD = "provider-pass-123"
LEADER_GROUP = "portfolio-leaders"

USERS = {
    # A portfolio leader by the group claim.
    "lena": {"email": "lena.leader@example.org", "groups": [LEADER_GROUP, "staff"]},
    # The same person without the group: a second sign-in that must take the role away.
    "lena-nogroup": {"email": "Lena.Leader@example.org", "groups": ["staff"]},
    # The owner of a unit, known to the portfolio by e-mail (written in another case here).
    "olivia": {"email": "OLIVIA.owner@example.org", "groups": ["staff"]},
    # Nobody in the portfolio has this e-mail.
    "ursula": {
        "email": "ursula.unknown@example.org",
        "groups": ["staff"],
        "name": "Ursula Unknown",
    },
    # A person the portfolio records as departed.
    "dora": {"email": "dora.departed@example.org", "groups": [LEADER_GROUP]},
    # The provider has not verified this address.
    "victor": {"email": "victor@example.org", "groups": [], "email_verified": False},
    # The owner again, but every ID token made for this login expired a minute before it was
    # made (a provider-side switch, so the test meets a really expired token).
    "olivia-late": {"email": "olivia.owner@example.org", "groups": [], "id_token_lifetime": -60},
}
