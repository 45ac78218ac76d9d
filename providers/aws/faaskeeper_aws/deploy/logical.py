"""Logical ids of the stack's resources, shared by the template, its IAM policies and the deploy."""

from __future__ import annotations

from typing import Any

NODES_TABLE = "NodesTable"
SESSIONS_TABLE = "SessionsTable"
WATCHES_TABLE = "WatchesTable"
DATA_TABLE = "DataTable"
DATA_BUCKET = "DataBucket"
WRITER_QUEUE = "WriterQueue"
WRITER_DLQ = "WriterDeadLetterQueue"
DISTRIBUTOR_QUEUE = "DistributorQueue"
DISTRIBUTOR_DLQ = "DistributorDeadLetterQueue"
HEARTBEAT_RULE = "HeartbeatSchedule"

#: The functions by role (``ResourceNames.function(role)``), each with its role, log group and handler.
FUNCTIONS = ("writer", "distributor", "heartbeat", "watch")


def function(role: str) -> str:
    return f"{role.capitalize()}Function"


def role(role: str) -> str:
    return f"{role.capitalize()}Role"


def log_group(role: str) -> str:
    return f"{role.capitalize()}Logs"


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def sub(text: str) -> dict[str, Any]:
    """``Fn::Sub`` of ``text`` (``${AWS::Region}``, ``${AWS::AccountId}``, ``${AWS::Partition}``)."""
    return {"Fn::Sub": text}
