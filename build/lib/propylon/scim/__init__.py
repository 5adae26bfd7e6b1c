"""SCIM 2.0 service provider.

- RFC 7643, SCIM Core Schema: https://www.rfc-editor.org/rfc/rfc7643
- RFC 7644, SCIM Protocol: https://www.rfc-editor.org/rfc/rfc7644

The package turns SCIM wire messages into calls on :mod:`propylon.directory`; it never sees
the HTTP framework or SQL.
"""
