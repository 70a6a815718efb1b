"""`readiness parity`: compare what two environments actually run."""
