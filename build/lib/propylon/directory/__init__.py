"""The directory: users, groups, their lifecycle, seats and the domain events they emit.

Protocol packages (``scim``, ``saml``, ``oidc``) call these services with plain values; the
services never see a wire format.
"""
