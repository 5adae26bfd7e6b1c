"""The OpenID Provider (OpenID Connect Core 1.0, OAuth 2.0 RFC 6749) built on Authlib."""
