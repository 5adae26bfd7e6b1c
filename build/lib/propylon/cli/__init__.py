"""The ``propylon`` command: a thin shell over the same operations as the management API."""
