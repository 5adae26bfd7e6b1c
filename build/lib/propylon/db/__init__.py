"""Storage: SQLAlchemy 2 async tables, engine, transactions and Alembic migrations.

One schema serves SQLite (embedded mode) and PostgreSQL (production).
"""
