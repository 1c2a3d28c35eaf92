"""Plumbing shared by the partner adapters: the HTTP session and the wire-model base."""
