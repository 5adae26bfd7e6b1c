"""Propylon: a self-hostable enterprise identity layer for multi-tenant B2B SaaS.

Upstream it speaks SCIM 2.0 (RFC 7643/7644), SAML 2.0 and OIDC to each tenant's IdP;
downstream it is an OpenID Provider for the host platform.
"""

__version__ = "0.1.0"
