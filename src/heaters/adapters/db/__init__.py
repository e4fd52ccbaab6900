"""The database adapter: connection (embedded or external PostgreSQL), schema, migrations, unit of work."""
