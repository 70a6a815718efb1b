"""Scenario drivers: each runs its steps against the target and returns frozen observations."""
