"""Flawed twins of the batch app, one per failure mode it can plant; each has a config next to it."""
