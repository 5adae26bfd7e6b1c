"""Propylon's host-platform SDK distribution (``propylon-sdk``): only :mod:`propylon.sdk`.

The server distribution (``propylon``) ships the same ``propylon.sdk`` package beside the
server's own; this ``__init__`` is used only when the SDK is installed on its own.
"""

__version__ = "0.1.0"
