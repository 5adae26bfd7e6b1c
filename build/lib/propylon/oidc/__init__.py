"""OpenID Connect relying party: the protocol alone, no HTTP edge and no storage.

Discovery and JWKS (``discovery.py``, ``jwks.py``), PKCE (``rfc7636.py``), the
authorization request and RFC 9207 ``iss`` check (``authorization.py``), the code exchange
and client authentication (``token_client.py``), ID token validation per Core §3.1.3.7
(``id_token.py``), Back-Channel Logout tokens (``logout_token.py``) and userinfo
(``userinfo.py``). Every request goes through ``propylon.outbound``; every refusal is an
:class:`~propylon.oidc.errors.OidcError` with a stable ``reason``.
"""
