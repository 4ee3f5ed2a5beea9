"""batten: an interactive container-hardening assistant for the terminal."""

__version__ = "0.2.0"
