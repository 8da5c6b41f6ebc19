"""Suite files: the YAML a user writes, its schema, its loader and the datasets it names."""
