"""Writes of the accounts app: the logins single sign-on creates or links, and the leader role
it keeps in step with the provider's group claim.

The actor of these writes is the person signing in: the provider has just vouched for them, and
nobody else is there. Each runs in its own transaction and locks the rows it changes, so two
sign-ins of the same person at once link one login, not two.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from simple_history.utils import update_change_reason

from portfolio.permissions import LEADERS_GROUP
from portfolio.validation import full_clean_or_fail
from products.models import Person

USERNAME_MAX = 150


def _free_username(email: str) -> str:
    """A username from the e-mail's local part, with a number added when it is taken."""
    base = (email.split("@", 1)[0].strip().lower() or "user")[: USERNAME_MAX - 6]
    users = get_user_model().objects
    candidate, n = base, 1
    while users.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _new_login(*, name: str, email: str) -> User:
    first, _, last = name.partition(" ")
    user: User = get_user_model().objects.create_user(
        username=_free_username(email),
        email=email,
        first_name=first[:150],
        last_name=last[:150],
    )
    # Signs in through the provider only; a password can be set later by a leader.
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def sso_login_link(*, person: Person) -> User:
    """The login of a person the provider vouched for: theirs, or a new one linked to them."""
    person = Person.objects.select_for_update(of=("self",)).select_related("user").get(pk=person.pk)
    if person.user is not None:
        return person.user
    user = _new_login(name=person.name, email=person.email)
    person.user = user
    person._history_user = user
    person.save(update_fields=["user", "updated_at"])
    return user


@transaction.atomic
def sso_person_create(*, email: str, name: str, subject: str) -> User:
    """A person and their login for an unknown verified e-mail (OIDC_CREATE_USERS): a viewer.

    `subject` (the provider's `sub`) goes in the person's history, so a leader can tell who
    the provider said this was."""
    email = email.strip().lower()
    person = Person(name=name.strip()[:120] or email, email=email)
    full_clean_or_fail(person)
    user = _new_login(name=person.name, email=email)
    person.user = user
    person._history_user = user
    person.save()
    update_change_reason(person, f"First single sign-on, subject {subject}"[:100])
    return user


@transaction.atomic
def sso_leader_role_sync(*, user: User, leader: bool) -> None:
    """Make the login a portfolio leader or not, as the provider's group claim says.

    Superusers are left alone: their role does not come from the provider."""
    if user.is_superuser:
        return
    group, _ = Group.objects.get_or_create(name=LEADERS_GROUP)
    if leader:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    # A cached answer from earlier in the request must not outlive the change.
    user.__dict__.pop("_is_leader", None)
