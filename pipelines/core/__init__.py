"""Core: the current state and the full history of every Violet entity."""
