"""The parts of ``bench/saml_logins.py``: the IdP (``idp``), the /proc CPU accounting
(``meter``), the login flow and the benchmark around it (``flow``) and the ``--profile``
run (``profile``)."""
