"""The demo portfolio and the `seed_demo` command that loads it."""
