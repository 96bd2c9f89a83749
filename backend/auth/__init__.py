"""Authentication and authorisation: users, roles, district scope, sessions, API keys, audit log."""
