"""The run history (SQLite), and what changed between two runs: checks, key figures and effective definitions."""
