"""Evaluation: metrics (and, later, local / API evaluation)."""
