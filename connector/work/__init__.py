"""The work side: one handler per job kind, the worker that runs them, the scheduler."""
