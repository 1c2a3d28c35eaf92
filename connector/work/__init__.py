"""The work: one handler per job kind, the inbox the receivers write to, and the worker."""
