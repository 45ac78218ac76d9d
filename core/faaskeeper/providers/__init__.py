"""The upstream client's ``faaskeeper.providers`` package: the :class:`ProviderClient` interface
(``faaskeeper.providers.provider``). Providers here are plugins (see the plugin contract); the
upstream's AWS-only ``aws`` and ``serialization`` modules have no counterpart."""
