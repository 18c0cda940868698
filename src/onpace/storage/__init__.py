"""The store: engine, tables, migrations and query-only repositories."""
