"""Every PostgreSQL query of the project lives in this package.

One style: SQLAlchemy Core `sa.text()` statements with named parameters, executed on a
`Connection` the caller holds (so it decides what runs in one transaction). Functions are typed:
they return small dataclasses or NamedTuples, never raw rows a caller indexes by column.

- `memories`: reading a user's memories back (facts, summaries, summary and message vectors),
  the bots and users that have any, and the database liveness check.
- `enrichment`, `maintenance`: the statements of the enrichment runs and of maintenance.
"""
