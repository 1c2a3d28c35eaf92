"""Empower Pharmacy API adapter: wire models, client, webhook authentication."""
