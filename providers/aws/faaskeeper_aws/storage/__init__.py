"""Storage on AWS: system storage in DynamoDB, user storage in S3 or DynamoDB.

* :mod:`.system`: :class:`DynamoDbSystemStorage` (nodes, sessions, watches), over
  :mod:`.nodes` (the nodes table), :mod:`.sessions` (the sessions and watches tables),
  :mod:`.session_ends` (records of ended sessions' client queues), :mod:`.commit` (commits and
  claimed transactions) and :mod:`.tallies` (watch tallies);
* :mod:`.user`: the user storage the config chooses, :mod:`.s3` (``persistent``),
  :mod:`.key_value` (``key-value``) or :mod:`.hybrid` (``hybrid``: an item while the node is
  small, an S3 object named by the item above a size threshold), all holding a node's metadata
  as :mod:`.node_format` says;
* :mod:`.dynamodb`: helpers shared by the DynamoDB storages (attribute values, expressions,
  batches, transactions).

Nothing is imported here, so a module of the provider imports only the storage parts it uses.
"""
