"""The upstream client's ``faaskeeper.providers`` package: the :class:`ProviderClient` interface
(:mod:`faaskeeper.providers.provider`) and the user storage readers
(:mod:`faaskeeper.providers.serialization`). Providers themselves are plugins (see the plugin
contract); the upstream's ``AWSClient`` has no counterpart: the client goes through the AWS
provider plugin."""
