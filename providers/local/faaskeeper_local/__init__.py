"""The embedded local provider: one SQLite file holds a whole deployment; no server, no daemon."""
