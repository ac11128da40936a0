"""The finance desk: its append-only action store, `python -m pipelines finance ...` and the
web page (`python -m pipelines desk`)."""
