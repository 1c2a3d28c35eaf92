"""Durable storage: tables, repositories and the job queue. Returns domain objects."""
