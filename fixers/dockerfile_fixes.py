"""Dockerfile fixers (being written)."""
