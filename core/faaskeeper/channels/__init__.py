"""Client channel implementations that need no cloud SDK."""
