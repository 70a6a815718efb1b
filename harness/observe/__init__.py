"""Observation: collect histories and metrics into immutable records that checks read."""
