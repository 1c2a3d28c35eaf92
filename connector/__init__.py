"""RxScale to Empower pharmacy connector."""

__version__ = "0.1.0"
