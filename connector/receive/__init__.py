"""The receive side: verify a delivery, read it into domain values, record it and enqueue
the work it calls for, in one transaction. Nothing here talks to a partner."""
