"""Instructor tooling (the ``course`` command). Student-facing code never imports this package."""
