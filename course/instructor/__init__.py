"""Instructor tooling: grading and reports (never imported by student-facing code)."""
