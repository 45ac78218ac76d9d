"""The deployment's CloudFormation template, built as a Python dict (serialised as JSON).

Resources, all named by :class:`~faaskeeper_aws.names.ResourceNames`:

- DynamoDB tables, on-demand: nodes (``path``), sessions (``session_id``), watches (``path`` +
  ``watch``) and, only with ``user-storage: key-value`` or ``hybrid``, the user data table
  (``path``). With S3 user storage no function would touch a data table, so none is created.
- The S3 data bucket, always: user storage with ``user-storage: persistent`` (under ``nodes/``),
  large nodes with ``hybrid`` (under ``large/``),
  and oversize queue payloads with either storage (under ``queue-payloads/``, expired by a
  lifecycle rule after the dead-letter queues drop their messages). Public access blocked, encrypted.
- SQS FIFO writer and distributor queues, each with a FIFO dead-letter queue and a redrive policy.
- Per function (writer, distributor, heartbeat, watch): an IAM role (see :mod:`faaskeeper_aws.deploy.iam`),
  its log group and the Lambda function, with ``FK_CONFIG`` (the client config) in its environment.
- Event source mappings writer queue -> writer and distributor queue -> distributor, reporting
  partial batch failures; an EventBridge schedule invoking the heartbeat, with its permission.
  The watch function has no trigger: the distributor invokes it (its role may, on it alone).

The functions' code comes from the code bucket, created before the stack (see ``deploy.py``).
"""

from __future__ import annotations

import json
from typing import Any

from faaskeeper.config import Config, StorageType
from faaskeeper_aws.deploy import logical
from faaskeeper_aws.deploy.iam import RolePolicies, assume_role_policy, log_group_name
from faaskeeper_aws.deploy.logical import FUNCTIONS, arn, ref
from faaskeeper_aws.deploy.tunables import DeployOptions
from faaskeeper_aws.names import ENV_CONFIG, ENV_DEPLOYMENT
from faaskeeper_aws.queues.payload import PREFIX as PAYLOADS
from faaskeeper_aws.settings import AwsSettings

Template = dict[str, Any]

RUNTIME = "python3.11"
#: Pure-Python code runs on Graviton, about 20 % cheaper per GB-second than x86.
ARCHITECTURE = "arm64"
HANDLERS = {role: f"faaskeeper_aws.functions.handlers.{role}" for role in FUNCTIONS}
#: SQS keeps messages at most 14 days: dead letters stay as long as possible for inspection.
DEAD_LETTER_RETENTION = 14 * 24 * 3600
#: SQS's default, stated: a write request older than 4 days is long abandoned by its client.
QUEUE_RETENTION = 4 * 24 * 3600
LOG_RETENTION_DAYS = 14
BATCH_SIZE = 10
#: Outputs that name the user storage; ``deploy`` compares it before an update.
USER_STORAGE_OUTPUT = "UserStorage"
#: The user storages that keep nodes in the data table.
TABLE_STORAGES = frozenset({StorageType.KEY_VALUE, StorageType.HYBRID})


def build_template(client_config: Config, settings: AwsSettings, code_key: str, options: DeployOptions) -> Template:
    """The stack for ``client_config`` (the config the functions read) with code at ``code_key``."""
    resources: dict[str, Any] = {}
    resources.update(_tables(settings))
    resources.update(_bucket(settings))
    resources.update(_queues(settings, options))
    policies = RolePolicies(settings.names, settings.user_storage, settings.client_channel)
    environment = {
        ENV_CONFIG: json.dumps(client_config.serialize(), sort_keys=True),
        ENV_DEPLOYMENT: settings.names.deployment,
    }
    for role in FUNCTIONS:
        resources.update(_function(settings, role, policies, environment, code_key, options))
    resources.update(_triggers(settings, options))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"FaaSKeeper deployment {settings.names.deployment!r}",
        "Resources": resources,
        "Outputs": _outputs(settings, code_key),
    }


def _deletable(resource: dict[str, Any]) -> dict[str, Any]:
    # Removing the deployment removes its data: nothing may stay behind.
    return {**resource, "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}


def _table(name: str, keys: list[tuple[str, str]]) -> dict[str, Any]:
    return _deletable(
        {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
                "KeySchema": [{"AttributeName": key, "KeyType": kind} for key, kind in keys],
            },
        }
    )


def _tables(settings: AwsSettings) -> dict[str, Any]:
    names = settings.names
    tables = {
        logical.NODES_TABLE: _table(names.nodes_table, [("path", "HASH")]),
        logical.SESSIONS_TABLE: _table(names.sessions_table, [("session_id", "HASH")]),
        logical.WATCHES_TABLE: _table(names.watches_table, [("path", "HASH"), ("watch", "RANGE")]),
    }
    if settings.user_storage in TABLE_STORAGES:
        tables[logical.DATA_TABLE] = _table(names.data_table, [("path", "HASH")])
    return tables


#: Offloaded queue payloads outlive their message only if it was never consumed (a sender died
#: between upload and send) or was dead-lettered, where it is kept as long as SQS keeps the message.
PAYLOAD_EXPIRY_DAYS = DEAD_LETTER_RETENTION // (24 * 3600) + 1
LIFECYCLE = [
    {"Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    {"Id": "ExpireQueuePayloads", "Status": "Enabled", "Prefix": PAYLOADS, "ExpirationInDays": PAYLOAD_EXPIRY_DAYS},
]


def _bucket(settings: AwsSettings) -> dict[str, Any]:
    properties = {
        "BucketName": settings.data_bucket,
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "LifecycleConfiguration": {"Rules": LIFECYCLE},
    }
    return {logical.DATA_BUCKET: _deletable({"Type": "AWS::S3::Bucket", "Properties": properties})}


def _queues(settings: AwsSettings, options: DeployOptions) -> dict[str, Any]:
    names = settings.names
    out: dict[str, Any] = {}
    for queue_id, queue, dlq_id, dlq in (
        (logical.WRITER_QUEUE, names.writer_queue, logical.WRITER_DLQ, names.writer_dead_letters),
        (logical.DISTRIBUTOR_QUEUE, names.distributor_queue, logical.DISTRIBUTOR_DLQ, names.distributor_dead_letters),
    ):
        fifo = {"FifoQueue": True, "ContentBasedDeduplication": False}
        out[dlq_id] = _deletable(
            {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": dlq, **fifo, "MessageRetentionPeriod": DEAD_LETTER_RETENTION},
            }
        )
        redrive = {"deadLetterTargetArn": arn(dlq_id), "maxReceiveCount": options.max_receive_count}
        out[queue_id] = _deletable(
            {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": queue,
                    **fifo,
                    "MessageRetentionPeriod": QUEUE_RETENTION,
                    "VisibilityTimeout": options.visibility_timeout,
                    "RedrivePolicy": redrive,
                },
            }
        )
    return out


def _function(
    settings: AwsSettings,
    role: str,
    policies: RolePolicies,
    environment: dict[str, str],
    code_key: str,
    options: DeployOptions,
) -> dict[str, Any]:
    names = settings.names
    role_id, logs_id = logical.role(role), logical.log_group(role)
    policy = {"Version": "2012-10-17", "Statement": policies.statements(role)}
    return {
        role_id: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                # No RoleName: CloudFormation names it "<stack>-<logical id>-<suffix>", under the
                # deployment's prefix, and the stack needs only CAPABILITY_IAM.
                "AssumeRolePolicyDocument": assume_role_policy(),
                "Policies": [{"PolicyName": f"faaskeeper-{role}", "PolicyDocument": policy}],
            },
        },
        logs_id: _deletable(
            {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": log_group_name(names, role), "RetentionInDays": LOG_RETENTION_DAYS},
            }
        ),
        logical.function(role): {
            "Type": "AWS::Lambda::Function",
            "DependsOn": [logs_id],
            "Properties": {
                "FunctionName": names.function(role),
                "Runtime": RUNTIME,
                "Architectures": [ARCHITECTURE],
                "Handler": HANDLERS[role],
                "Code": {"S3Bucket": names.code_bucket, "S3Key": code_key},
                "Role": arn(role_id),
                "MemorySize": options.memory,
                "Timeout": options.heartbeat_timeout if role == "heartbeat" else options.function_timeout,
                "Environment": {"Variables": environment},
            },
        },
    }


def _triggers(settings: AwsSettings, options: DeployOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role, queue_id in (("writer", logical.WRITER_QUEUE), ("distributor", logical.DISTRIBUTOR_QUEUE)):
        out[f"{role.capitalize()}Trigger"] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": arn(queue_id),
                "FunctionName": ref(logical.function(role)),
                "BatchSize": BATCH_SIZE,
                "Enabled": True,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        }
    heartbeat = logical.function("heartbeat")
    out[logical.HEARTBEAT_RULE] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": settings.names.heartbeat_rule,
            "Description": "Runs the FaaSKeeper heartbeat: pings sessions and expires dead ones",
            "ScheduleExpression": options.schedule,
            "State": "ENABLED",
            "Targets": [{"Id": "heartbeat", "Arn": arn(heartbeat)}],
        },
    }
    out["HeartbeatPermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ref(heartbeat),
            "Principal": "events.amazonaws.com",
            "SourceArn": arn(logical.HEARTBEAT_RULE),
        },
    }
    return out


def _outputs(settings: AwsSettings, code_key: str) -> dict[str, Any]:
    names = settings.names
    outputs: dict[str, Any] = {
        "NodesTable": ref(logical.NODES_TABLE),
        "SessionsTable": ref(logical.SESSIONS_TABLE),
        "WatchesTable": ref(logical.WATCHES_TABLE),
        "DataBucket": ref(logical.DATA_BUCKET),
        "CodeBucket": names.code_bucket,
        "CodeKey": code_key,
        USER_STORAGE_OUTPUT: settings.user_storage.value,
        "WriterQueueUrl": ref(logical.WRITER_QUEUE),
        "WriterDeadLetterQueueUrl": ref(logical.WRITER_DLQ),
        "DistributorQueueUrl": ref(logical.DISTRIBUTOR_QUEUE),
        "DistributorDeadLetterQueueUrl": ref(logical.DISTRIBUTOR_DLQ),
        "HeartbeatSchedule": ref(logical.HEARTBEAT_RULE),
    }
    if settings.user_storage in TABLE_STORAGES:
        outputs["DataTable"] = ref(logical.DATA_TABLE)
    for role in FUNCTIONS:
        outputs[f"{role.capitalize()}Function"] = ref(logical.function(role))
    return {key: {"Value": value} for key, value in outputs.items()}
