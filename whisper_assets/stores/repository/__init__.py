"""Every PostgreSQL query of the project lives in this package.

One style: SQLAlchemy Core `sa.text()` statements with named parameters, executed on a
`Connection` the caller holds (so it decides what runs in one transaction). Functions are typed:
they return small dataclasses or NamedTuples, never raw rows a caller indexes by column.

- `memories`: reading a user's memories back (facts, summaries, summary and message vectors),
  the bots and users that have any, and the database liveness check.
- `enrichment`: the enrichment runs' statements -- partition staging, observations, summaries
  and embeddings (the IO manager's tables), the user_facts recompute under its lock, run records,
  the bots' locks, and the forget bookkeeping a run checks against.
- `consolidation`: the user_facts recompute (near-duplicates merged, validity periods; the logic is
  core/enrichment/consolidation.py) and reading facts back with their history.
- `maintenance`: the TTL prune's counts and deletes, and erasing one user's rows.

Applying the migrations of sql/ (schema_migrations, under an advisory lock) is
stores/postgres.py's `upgrade`; the queries those migrations serve are all here.
"""
