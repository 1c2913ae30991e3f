"""Storage: the schema, the database handle, intake and migrations."""
