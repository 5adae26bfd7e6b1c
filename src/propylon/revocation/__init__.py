"""Ending sign-ins durably, each with its event in the same transaction (issue 14)."""
