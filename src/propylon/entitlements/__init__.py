"""Entitlements: roles, one tier and programs derived from the directory by per-tenant rules."""
