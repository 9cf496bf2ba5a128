"""Identity and access: single sign-on, local logins, lockouts, password pages and API tokens.

It sits beside metrics, above the catalogue: a login is linked to the catalogue's Person, and
nothing below the pages imports it (docs/architecture.md)."""
