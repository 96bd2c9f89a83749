"""Shared REST API plumbing: errors, pagination, tables, dependencies and the /api/v1 router."""
