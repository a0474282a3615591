"""Accounts, passwords, sessions, CSRF, bearer tokens, login throttling and the authorisation point."""
