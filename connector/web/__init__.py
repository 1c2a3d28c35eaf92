"""The HTTP surface: webhook receivers and health endpoints. Thin handlers."""
