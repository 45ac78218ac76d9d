"""The write protocol as provider-agnostic function logic."""
