"""The public surface of the upstream FaaSKeeper Python client (spcl/faaskeeper-python, commit
a08993c, May 2023), written out by hand from its sources, module by module.

Signatures are the upstream's parameter lists, literally (``self`` included for methods, left out
for classes, whose constructors are compared). Nothing here is generated from this project's code.
"""

from __future__ import annotations

#: What ``faaskeeper/__init__.py`` exported, and the module each name comes from.
PACKAGE_EXPORTS = {
    "FaaSKeeperClient": "faaskeeper.client",
    "StorageType": "faaskeeper.config",
    "BadVersionError": "faaskeeper.exceptions",
    "NodeExistsException": "faaskeeper.exceptions",
    "ProviderException": "faaskeeper.exceptions",
    "SessionClosingException": "faaskeeper.exceptions",
    "SessionExpiredException": "faaskeeper.exceptions",
    "TimeoutException": "faaskeeper.exceptions",
    "Future": "faaskeeper.threading",
}

#: Callables: ``module:qualified.name`` -> the upstream parameter list.
SIGNATURES = {
    # faaskeeper/client.py
    "faaskeeper.client:FaaSKeeperClient": "cfg, port=-1, heartbeat=True, verbose=False, debug=False",
    "faaskeeper.client:FaaSKeeperClient.start": "self",
    "faaskeeper.client:FaaSKeeperClient.stop": "self",
    "faaskeeper.client:FaaSKeeperClient.create": "self, path, value=b'', ephemeral=False, sequential=False",
    "faaskeeper.client:FaaSKeeperClient.create_async": "self, path, value=b'', ephemeral=False, sequential=False",
    "faaskeeper.client:FaaSKeeperClient.get_data": "self, path, watch=None",
    "faaskeeper.client:FaaSKeeperClient.get_data_async": "self, path, watch=None",
    "faaskeeper.client:FaaSKeeperClient.get_children": "self, path, include_data=False",
    "faaskeeper.client:FaaSKeeperClient.get_children_async": "self, path, include_data=False",
    "faaskeeper.client:FaaSKeeperClient.exists": "self, path",
    "faaskeeper.client:FaaSKeeperClient.exists_async": "self, path",
    "faaskeeper.client:FaaSKeeperClient.set_data": "self, path, value=b'', version=-1",
    "faaskeeper.client:FaaSKeeperClient.set_data_async": "self, path, value=b'', version=-1",
    "faaskeeper.client:FaaSKeeperClient.delete": "self, path, version=-1",
    "faaskeeper.client:FaaSKeeperClient.delete_async": "self, path, version=-1",
    # faaskeeper/config.py
    "faaskeeper.config:StorageType.deserialize": "val",
    "faaskeeper.config:QueueType.deserialize": "val",
    "faaskeeper.config:ClientChannel.deserialize": "val",
    "faaskeeper.config:CloudProvider.serialize": "val",
    "faaskeeper.config:CloudProvider.deserialize": "val",
    "faaskeeper.config:AWSConfig": "",
    "faaskeeper.config:AWSConfig.deserialize": "data",
    "faaskeeper.config:Config": "",
    "faaskeeper.config:Config.deserialize": "data",
    # faaskeeper/node.py
    "faaskeeper.node:Node": "path",
    "faaskeeper.node:Node.serialize": "self",
    # faaskeeper/version.py
    "faaskeeper.version:SystemCounter": "provider_data, version",
    "faaskeeper.version:SystemCounter.from_provider_schema": "provider_data",
    "faaskeeper.version:SystemCounter.from_raw_data": "counter_data",
    "faaskeeper.version:SystemCounter.serialize": "self",
    "faaskeeper.version:EpochCounter": "provider_data, version",
    "faaskeeper.version:EpochCounter.from_provider_schema": "provider_data",
    "faaskeeper.version:EpochCounter.from_raw_data": "counter_data",
    "faaskeeper.version:EpochCounter.serialize": "self",
    "faaskeeper.version:Version": "system, epoch",
    "faaskeeper.version:Version.serialize": "self",
    "faaskeeper.version:AWSDecoder._decode_aws_schema_impl": "items",
    "faaskeeper.version:AWSDecoder._decode_aws_schema": "items",
    # faaskeeper/watch.py
    "faaskeeper.watch:WatchedEvent": "event_type, path, timestamp",
    "faaskeeper.watch:Watch": "timestamp, watch_type, callback",
    "faaskeeper.watch:Watch.generate_message": "self, event",
    # faaskeeper/threading.py
    "faaskeeper.threading:Future": "",
    "faaskeeper.threading:Future.set_result": "self, result",
    "faaskeeper.threading:Future.set_exception": "self, exception",
    "faaskeeper.threading:Future.get": "self",
    "faaskeeper.threading:Future.wait": "self",
    "faaskeeper.threading:Future.done": "self",
    "faaskeeper.threading:Future.add_callback": "self",
    # faaskeeper/stats.py
    "faaskeeper.stats:StorageStatistics": "",
    "faaskeeper.stats:StorageStatistics.reset": "self",
    "faaskeeper.stats:StorageStatistics.instance": "",
    "faaskeeper.stats:StorageStatistics.add_read_units": "self, val",
    "faaskeeper.stats:StorageStatistics.add_write_units": "self, val",
    "faaskeeper.stats:StorageStatistics.add_read_time": "self, val",
    "faaskeeper.stats:StorageStatistics.add_write_time": "self, val",
    # faaskeeper/operations.py
    "faaskeeper.operations:Operation": "session_id, path",
    "faaskeeper.operations:RequestOperation": "session_id, path",
    "faaskeeper.operations:RequestOperation.generate_request": "self",
    "faaskeeper.operations:RequestOperation.process_result": "self, result, fut",
    "faaskeeper.operations:RequestOperation.is_cloud_request": "self",
    "faaskeeper.operations:RequestOperation.deserialize": "request",
    "faaskeeper.operations:DirectOperation": "session_id, path, watch=None",
    "faaskeeper.operations:DirectOperation.is_cloud_request": "self",
    "faaskeeper.operations:CreateNode": "session_id, path, value, flags",
    "faaskeeper.operations:CreateNode.generate_request": "self",
    "faaskeeper.operations:CreateNode.deserialize": "request",
    "faaskeeper.operations:CreateNode.process_result": "self, result, fut",
    "faaskeeper.operations:CreateNode.returns_directly": "self",
    "faaskeeper.operations:SetData": "session_id, path, value, version",
    "faaskeeper.operations:SetData.generate_request": "self",
    "faaskeeper.operations:SetData.deserialize": "request",
    "faaskeeper.operations:SetData.process_result": "self, result, fut",
    "faaskeeper.operations:SetData.returns_directly": "self",
    "faaskeeper.operations:DeleteNode": "session_id, path, version",
    "faaskeeper.operations:DeleteNode.generate_request": "self",
    "faaskeeper.operations:DeleteNode.deserialize": "request",
    "faaskeeper.operations:DeleteNode.process_result": "self, result, fut",
    "faaskeeper.operations:DeleteNode.returns_directly": "self",
    "faaskeeper.operations:GetData": "session_id, path, watch=None",
    "faaskeeper.operations:GetChildren": "session_id, path, include_data",
    "faaskeeper.operations:ExistsNode": "session_id, path",
    "faaskeeper.operations:RegisterSession": "session_id, source_addr, heartbeat",
    "faaskeeper.operations:DeregisterSession": "session_id",
    "faaskeeper.operations:DeregisterSession.generate_request": "self",
    "faaskeeper.operations:DeregisterSession.deserialize": "request",
    "faaskeeper.operations:DeregisterSession.process_result": "self, result, fut",
    # faaskeeper/providers/provider.py
    "faaskeeper.providers.provider:ProviderClient": "cfg",
    "faaskeeper.providers.provider:ProviderClient.get_data": "self, path, watch, listen_address",
    "faaskeeper.providers.provider:ProviderClient.exists": "self, path",
    "faaskeeper.providers.provider:ProviderClient.get_children": "self, path, include_data",
    "faaskeeper.providers.provider:ProviderClient.register_session": "self, session_id, sourceAddr, heartbeat",
    "faaskeeper.providers.provider:ProviderClient.register_watch": "self, node, watch_type, watch, listen_address",
    "faaskeeper.providers.provider:ProviderClient.execute_request": "self, op, listen_address",
    # faaskeeper/providers/aws.py
    "faaskeeper.providers.aws:AWSClient": "cfg",
    "faaskeeper.providers.aws:AWSClient.send_request": "self, request_id, data",
    "faaskeeper.providers.aws:AWSClient.get_data": "self, path, watch_callback, listen_address",
    "faaskeeper.providers.aws:AWSClient.exists": "self, path",
    "faaskeeper.providers.aws:AWSClient.get_children": "self, path, include_data",
    "faaskeeper.providers.aws:AWSClient.register_session": "self, session_id, source_addr, heartbeat",
    "faaskeeper.providers.aws:AWSClient.register_watch": "self, node, watch_type, watch, listen_address",
    # faaskeeper/queue.py
    "faaskeeper.queue:wait_until": "timeout, interval, condition, *args",
    "faaskeeper.queue:EventQueue": "",
    "faaskeeper.queue:EventQueue.add_expected_result": "self, request_id, request, future",
    "faaskeeper.queue:EventQueue.add_direct_result": "self, request_id, result, future",
    "faaskeeper.queue:EventQueue.add_indirect_result": "self, result",
    "faaskeeper.queue:EventQueue.add_watch_notification": "self, result",
    "faaskeeper.queue:EventQueue.add_watch": "self, path, watch",
    "faaskeeper.queue:EventQueue.get_watches": "self, paths, timestamp",
    "faaskeeper.queue:EventQueue.get": "self",
    "faaskeeper.queue:EventQueue.close": "self",
    "faaskeeper.queue:WorkQueue": "",
    "faaskeeper.queue:WorkQueue.add_request": "self, op, fut",
    "faaskeeper.queue:WorkQueue.get": "self",
    "faaskeeper.queue:WorkQueue.close": "self",
    "faaskeeper.queue:WorkQueue.wait_close": "self, timeout=-1",
    "faaskeeper.queue:ResponseListener": "event_queue, port=-1",
    "faaskeeper.queue:ResponseListener.stop": "self",
    "faaskeeper.queue:SQSListener": "event_queue, cfg",
    "faaskeeper.queue:SQSListener.stop": "self",
    "faaskeeper.queue:SubmitterThread": "session_id, provider_client, queue, event_queue, response_handler",
    "faaskeeper.queue:SubmitterThread.stop": "self",
    "faaskeeper.queue:SubmitterThread.run": "self",
    "faaskeeper.queue:SorterThread": "queue",
    "faaskeeper.queue:SorterThread.stop": "self",
    "faaskeeper.queue:SorterThread.run": "self",
    # faaskeeper/providers/serialization.py
    "faaskeeper.providers.serialization:DataReader": "deployment_name",
    "faaskeeper.providers.serialization:DataReader.get_data": "self, path, include_data=True, include_children=True",
    "faaskeeper.providers.serialization:S3Reader": "cfg",
    "faaskeeper.providers.serialization:S3Reader.serialize": "node",
    "faaskeeper.providers.serialization:S3Reader.deserialize": "path, data, include_data=True, include_children=True",
    "faaskeeper.providers.serialization:S3Reader.get_data": "self, path, include_data=True, include_children=True",
    "faaskeeper.providers.serialization:DynamoReader": "client, cfg",
    "faaskeeper.providers.serialization:DynamoReader._dynamodb_type": "val",
    "faaskeeper.providers.serialization:DynamoReader._dynamodb_val": "val",
    "faaskeeper.providers.serialization:DynamoReader._convert_items": "items",
    "faaskeeper.providers.serialization:DynamoReader.get_data": "self, path, include_data=True, include_children=True",
}

#: Properties: ``module:Class`` -> {name: "r" (read-only upstream) or "rw" (with a setter)}.
PROPERTIES = {
    "faaskeeper.client:FaaSKeeperClient": {"session_id": "r", "session_status": "r"},
    "faaskeeper.config:AWSConfig": {"data_bucket": "r"},
    "faaskeeper.config:Config": {
        "verbose": "r",
        "cloud_provider": "r",
        "deployment_region": "r",
        "deployment_name": "r",
        "heartbeat_frequency": "r",
        "user_storage": "r",
        "writer_queue": "r",
        "provider_config": "r",
        "client_channel": "r",
    },
    "faaskeeper.node:Node": {
        "path": "r",
        "children": "rw",
        "has_children": "r",
        "has_data": "r",
        "data": "rw",
        "data_b64": "rw",
        "has_created": "r",
        "created": "rw",
        "modified": "rw",
        "has_modified": "r",
    },
    "faaskeeper.version:SystemCounter": {"version": "r", "sum": "r"},
    "faaskeeper.version:EpochCounter": {"provider_data": "r", "version": "r"},
    "faaskeeper.version:Version": {"system": "rw", "epoch": "rw"},
    "faaskeeper.watch:WatchedEvent": {"timestamp": "r", "path": "r", "event_type": "r"},
    "faaskeeper.watch:Watch": {"watch_type": "r", "timestamp": "r"},
    "faaskeeper.stats:StorageStatistics": {
        "read_units": "r",
        "write_units": "r",
        "read_times": "r",
        "write_times": "r",
    },
    "faaskeeper.queue:ResponseListener": {"address": "r", "port": "r"},
    "faaskeeper.operations:Operation": {"session_id": "r", "path": "r", "name": "r"},
    "faaskeeper.operations:DirectOperation": {"watch": "r"},
    "faaskeeper.operations:CreateNode": {"name": "r", "data_b64": "rw"},
    "faaskeeper.operations:SetData": {"name": "r", "data_b64": "rw"},
    "faaskeeper.operations:DeleteNode": {"name": "r"},
    "faaskeeper.operations:GetData": {"name": "r"},
    "faaskeeper.operations:GetChildren": {"name": "r", "include_data": "r"},
    "faaskeeper.operations:ExistsNode": {"name": "r"},
    "faaskeeper.operations:RegisterSession": {"name": "r"},
    "faaskeeper.operations:DeregisterSession": {"name": "r"},
}

#: Enums: ``module:Class`` -> member names, in upstream order.
ENUMS = {
    "faaskeeper.config:StorageType": ["PERSISTENT", "KEY_VALUE", "IN_MEMORY"],
    "faaskeeper.config:QueueType": ["DYNAMODB", "SQS"],
    "faaskeeper.config:ClientChannel": ["TCP", "SQS"],
    "faaskeeper.config:CloudProvider": ["AWS"],
    "faaskeeper.node:NodeDataType": ["DATA", "CREATED", "MODIFIED", "CHILDREN"],
    "faaskeeper.watch:WatchEventType": ["NODE_CREATED", "NODE_DELETED", "NODE_DATA_CHANGED", "NODE_CHILDREN_CHANGED"],
    "faaskeeper.watch:WatchType": ["GET_DATA", "EXISTS", "GET_CHILDREN"],
    "faaskeeper.queue:EventQueue.EventType": [
        "CLOUD_INDIRECT_RESULT",
        "CLOUD_DIRECT_RESULT",
        "CLOUD_EXPECTED_RESULT",
        "WATCH_NOTIFICATION",
    ],
}

#: The upstream values of the enums that had numbers, for lookups by value (``WatchEventType(2)``).
WATCH_EVENT_NUMBERS = {0: "NODE_CREATED", 1: "NODE_DELETED", 2: "NODE_DATA_CHANGED", 3: "NODE_CHILDREN_CHANGED"}
#: ``str()`` of each watch event type.
WATCH_EVENT_STRINGS = {
    "NODE_CREATED": "NodeCreated",
    "NODE_DELETED": "NodeDeleted",
    "NODE_DATA_CHANGED": "NodeDataChanged",
    "NODE_CHILDREN_CHANGED": "NodeChildrenChanged",
}
#: What each enum's ``deserialize`` accepted.
DESERIALIZED = {
    "faaskeeper.config:StorageType": {"persistent": "PERSISTENT", "key-value": "KEY_VALUE"},
    "faaskeeper.config:QueueType": {"dynamodb": "DYNAMODB", "sqs": "SQS"},
    "faaskeeper.config:ClientChannel": {"tcp": "TCP", "sqs": "SQS"},
    "faaskeeper.config:CloudProvider": {"aws": "AWS"},
}

#: Exceptions: name -> (direct upstream base, constructor parameters).
EXCEPTIONS = {
    "FaaSKeeperException": ("Exception", "msg"),
    "ProviderException": ("FaaSKeeperException", "msg"),
    "SessionClosingException": ("FaaSKeeperException", ""),
    "SessionExpiredException": ("FaaSKeeperException", ""),
    "TimeoutException": ("FaaSKeeperException", "time"),
    "WatchSetFailureException": ("FaaSKeeperException", "path"),
    "AWSException": ("ProviderException", "msg"),
    "ZooKeeperException": ("FaaSKeeperException", "msg"),
    "NodeExistsException": ("ZooKeeperException", "path"),
    "NodeDoesntExistException": ("ZooKeeperException", "path"),
    "NotEmptyException": ("ZooKeeperException", "path"),
    "BadVersionError": ("ZooKeeperException", "version"),
    "MalformedInputException": ("ZooKeeperException", "msg"),
}

#: Other public names: ``module:name``.
NAMES = [
    "faaskeeper.watch:WatchCallbackType",
    "faaskeeper.version:AWSDecoder",
    "faaskeeper.providers.serialization:BENCHMARKING",
    "faaskeeper.providers.aws:BENCHMARKING",
]

#: Upstream names with no counterpart here (``module:name``), and why. Each is named in the docs'
#: "Coming from the upstream client" sections.
NOT_PROVIDED = {
    "faaskeeper.queue:Loop": "the upstream listener's epoll loop, which read each message with one recv(1024); "
    "ResponseListener runs on the TCP client channel's listener, whose messages are framed",
    "faaskeeper.queue:ResponseListener.accept_connection": "the epoll loop's accept handler (see Loop)",
    "faaskeeper.queue:ResponseListener.run": "the listeners are not threads: the client channel's listener "
    "receives on threads of its own; is_alive() and stop() are as upstream",
    "faaskeeper.queue:SQSListener.run": "as ResponseListener.run",
}
