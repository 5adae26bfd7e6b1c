"""The management service layer: the one set of operations the CLI and the management API
both call, each audited through :func:`propylon.admin.audited.audited`."""
