"""The conformance suite run against every provider, one module each.

Each module supplies its own ``provider``, ``fk_config`` and ``fk_expiry_config`` fixtures (the
suite's inputs) because several providers run here side by side; a provider in its own repository
puts them in its conftest.py instead. The deployment fixtures and the emulated clouds come from
the plugins that tests/conftest.py registers.
"""
