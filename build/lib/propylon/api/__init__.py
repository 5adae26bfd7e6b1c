"""The HTTP edge: FastAPI routers for SCIM, the management API, health and metrics.

Routers are thin: they turn requests into plain values, call a service, and render its
result. Errors are rendered once per wire format in :mod:`propylon.api.errors`.
"""
