"""Ops: pipeline health for the people who run it (counts, lag, topics)."""
