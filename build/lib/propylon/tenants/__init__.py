"""Tenants (the host platform's customers), their domains, SCIM directories and credentials."""
