"""Helpers shared by the benchmarks under ``bench/``.

Not installed: each benchmark script runs with its own folder (``bench/``) first on
``sys.path``, so ``import benchkit`` finds this package.

- ``benchkit.measure``: logging, ports, percentiles, /proc CPU accounting, machine gauges.
- ``benchkit.http``: a minimal asyncio HTTP/1.1 keep-alive client (and an httpx equivalent).
- ``benchkit.infra``: a PostgreSQL database + Redis prefix per run, started processes.
- ``benchkit.pyspy``: ``py-spy record`` on a pid and a summary of its collapsed stacks.
"""
