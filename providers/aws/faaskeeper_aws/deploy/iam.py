"""One least-privilege IAM role per function: only the tables, queues and objects it touches.

- writer: nodes, sessions and watches tables (a closing session's watches are deleted by the
  writer), consumes the writer queue, sends to the distributor queue and its own dead-letter
  queue, reads, writes and deletes offloaded queue payloads, sends to client inboxes.
- distributor: nodes, sessions and watches tables (it may finish a dead writer's commit, and
  fires watches), writes user storage (``nodes/`` objects of the data bucket, or the data
  table), consumes the distributor queue, sends to its own dead-letter queue, payloads as the
  writer, sends to client inboxes, invokes the watch function (that function alone).
- heartbeat: sessions table, sends expiries to the writer queue, pings client inboxes and reads
  their answer queues, writes and reads payloads, deletes the client queues of ended sessions and
  of clients that died before registering (found by ListQueues, the one action on ``*``: IAM has
  no resource for it).
- watch: sends to client inboxes; nothing else.

Every function writes only its own log group, which the stack creates. Client queues exist only
with ``client-channel: sqs``; with TCP no role gets any client queue permission.
"""

from __future__ import annotations

from typing import Any

from faaskeeper.config import ClientChannel, StorageType
from faaskeeper_aws.deploy import logical
from faaskeeper_aws.deploy.logical import arn, sub
from faaskeeper_aws.names import ResourceNames
from faaskeeper_aws.queues.payload import PREFIX as PAYLOADS
from faaskeeper_aws.storage.hybrid import KEY_PREFIX as LARGE_NODES
from faaskeeper_aws.storage.s3 import KEY_PREFIX as NODES

Statement = dict[str, Any]

TABLE_RW = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
QUEUE_CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
QUEUE_SEND = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
OBJECTS_RW = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
LOGS_WRITE = ["logs:CreateLogStream", "logs:PutLogEvents"]


def statement(sid: str, actions: list[str], resources: list[Any]) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def assume_role_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


def log_group_name(names: ResourceNames, role: str) -> str:
    """Where Lambda writes a function's logs; the stack creates it so removal deletes it."""
    return f"/aws/lambda/{names.function(role)}"


def log_group_arn(names: ResourceNames, role: str) -> dict[str, Any]:
    return sub(
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group_name(names, role)}:*"
    )


def client_queues_arn(names: ResourceNames, suffix: str) -> dict[str, Any]:
    """Client queues (``<prefix>-client-<id>.fifo`` inboxes, ``...-answers``) ending in ``suffix``."""
    return sub(f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{names.prefix}-client-*{suffix}")


def objects(prefix: str) -> dict[str, Any]:
    return sub(f"${{{logical.DATA_BUCKET}.Arn}}/{prefix}*")


#: ListBucket on the data bucket makes a missing object a 404 instead of a 403 for GetObject.
LIST_BUCKET = statement("FindObjects", ["s3:ListBucket"], [arn(logical.DATA_BUCKET)])


class RolePolicies:
    """The inline policy statements of each function's role."""

    def __init__(self, names: ResourceNames, user_storage: StorageType, channel: ClientChannel) -> None:
        self.names = names
        self.user_storage = user_storage
        self.channel = channel

    def statements(self, role: str) -> list[Statement]:
        builds = {
            "writer": self.writer,
            "distributor": self.distributor,
            "heartbeat": self.heartbeat,
            "watch": self.watch,
        }
        return [statement("Logs", LOGS_WRITE, [log_group_arn(self.names, role)]), *builds[role]()]

    def writer(self) -> list[Statement]:
        return [
            statement("SystemStorage", TABLE_RW, [arn(t) for t in SYSTEM_TABLES]),
            statement("ConsumeWriterQueue", QUEUE_CONSUME, [arn(logical.WRITER_QUEUE)]),
            statement("SendDistributorQueue", QUEUE_SEND, [arn(logical.DISTRIBUTOR_QUEUE)]),
            statement("SendDeadLetters", QUEUE_SEND, [arn(logical.WRITER_DLQ)]),
            statement("Payloads", OBJECTS_RW, [objects(PAYLOADS)]),
            LIST_BUCKET,
            *self._send_to_clients(),
        ]

    def distributor(self) -> list[Statement]:
        if self.user_storage is StorageType.PERSISTENT:
            user = [statement("UserStorage", OBJECTS_RW, [objects(f"{NODES}/")])]
        elif self.user_storage is StorageType.HYBRID:
            user = [
                statement("UserStorage", TABLE_RW, [arn(logical.DATA_TABLE)]),
                statement("LargeNodes", OBJECTS_RW, [objects(LARGE_NODES)]),
            ]
        else:
            user = [statement("UserStorage", TABLE_RW, [arn(logical.DATA_TABLE)])]
        return [
            statement("SystemStorage", TABLE_RW, [arn(t) for t in SYSTEM_TABLES]),
            *user,
            statement("ConsumeDistributorQueue", QUEUE_CONSUME, [arn(logical.DISTRIBUTOR_QUEUE)]),
            statement("SendDeadLetters", QUEUE_SEND, [arn(logical.DISTRIBUTOR_DLQ)]),
            statement("Payloads", OBJECTS_RW, [objects(PAYLOADS)]),
            LIST_BUCKET,
            *self._send_to_clients(),
            statement("InvokeWatchFunction", ["lambda:InvokeFunction"], [arn(logical.function("watch"))]),
        ]

    def heartbeat(self) -> list[Statement]:
        out = [
            statement("Sessions", TABLE_RW, [arn(logical.SESSIONS_TABLE)]),
            statement("SendWriterQueue", QUEUE_SEND, [arn(logical.WRITER_QUEUE)]),
            statement("Payloads", ["s3:GetObject", "s3:PutObject"], [objects(PAYLOADS)]),
            LIST_BUCKET,
            *self._send_to_clients(),
        ]
        if self.channel is ClientChannel.SQS:
            # Pings are answered on the client's answer queue, which the heartbeat reads and clears.
            answers = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
            out.append(statement("ClientAnswers", answers, [client_queues_arn(self.names, "-answers")]))
            # A client that died leaves its queues: the heartbeat deletes them after its session ended,
            # or, if it died before registering, once they are older than a registration takes.
            queues = [client_queues_arn(self.names, suffix) for suffix in (".fifo", "-answers")]
            out.append(statement("DeleteEndedClientQueues", ["sqs:DeleteQueue", "sqs:GetQueueAttributes"], queues))
            # Finding those takes ListQueues, which IAM cannot limit to a resource: it lists names only.
            out.append(statement("FindClientQueues", ["sqs:ListQueues"], ["*"]))
        return out

    def watch(self) -> list[Statement]:
        return self._send_to_clients()

    def _send_to_clients(self) -> list[Statement]:
        if self.channel is not ClientChannel.SQS:
            return []
        return [statement("ClientInboxes", QUEUE_SEND, [client_queues_arn(self.names, ".fifo")])]


SYSTEM_TABLES = (logical.NODES_TABLE, logical.SESSIONS_TABLE, logical.WATCHES_TABLE)
