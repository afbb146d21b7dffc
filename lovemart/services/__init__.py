"""The domain: plain functions over a database session that flush (never commit) and raise `DomainError`."""
