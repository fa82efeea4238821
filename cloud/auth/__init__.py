"""Accounts and authentication: password hashes, signing keys, tokens, tickets."""
