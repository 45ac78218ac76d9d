"""The upstream client's ``faaskeeper.providers`` package: the :class:`ProviderClient` interface
(:mod:`faaskeeper.providers.provider`), its AWS implementation ``AWSClient``
(:mod:`faaskeeper.providers.aws`) and the user storage readers
(:mod:`faaskeeper.providers.serialization`). Clouds themselves are plugins (see the plugin
contract); these go through them."""
