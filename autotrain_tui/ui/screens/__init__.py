"""Screens of the UI (modal prompts, help, compare), one per module."""
