"""Widgets of the UI, one per module."""
