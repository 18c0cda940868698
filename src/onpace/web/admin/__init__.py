"""Model editing, users and API tokens."""
