"""The SCIM-specific parts of ``bench/scim_bench.py``: request bodies, servers and seeding,
and the okta_500, floors, filter_latency, mixed and profile phases."""
