"""The deployment's CloudFormation stack: create or update it, delete it, and wait with waiters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.settings import AwsSettings

Progress = Callable[[str], None]

#: CloudFormation answers this to an update that changes nothing.
NO_UPDATES = "No updates are to be performed"
#: States from which a stack can only be deleted (a failed first create, a failed delete).
DEAD_STATES = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"})
TAG = "faaskeeper:deployment"
#: Seconds between waiters' polls (their first look is immediate); an hour at most.
POLL_SECONDS = 5
MAX_POLLS = 720


class Stack:
    def __init__(self, settings: AwsSettings, progress: Progress) -> None:
        self.name = settings.names.stack
        self._deployment = settings.names.deployment
        self._cfn = settings.client("cloudformation")
        self._progress = progress

    def describe(self) -> dict[str, Any] | None:
        """The stack as ``DescribeStacks`` returns it, or None if there is none."""
        with aws_errors(f"describe stack {self.name}"):
            try:
                stacks = self._cfn.describe_stacks(StackName=self.name)["Stacks"]
            except ClientError as err:
                if error_code(err) == "ValidationError" and "does not exist" in str(err):
                    return None
                raise
        live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
        return live[0] if live else None

    def outputs(self, stack: dict[str, Any]) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def resources(self) -> list[dict[str, Any]]:
        with aws_errors(f"list resources of stack {self.name}"):
            pages = self._cfn.get_paginator("list_stack_resources").paginate(StackName=self.name)
            return [r for page in pages for r in page.get("StackResourceSummaries", [])]

    def create(self, template: dict[str, Any]) -> None:
        self._progress(f"creating stack {self.name} ({len(template['Resources'])} resources)")
        with aws_errors(f"create stack {self.name}"):
            stack_id = self._cfn.create_stack(
                StackName=self.name,
                TemplateBody=json.dumps(template),
                Capabilities=["CAPABILITY_IAM"],
                OnFailure="DELETE",
                Tags=[{"Key": TAG, "Value": self._deployment}],
            )["StackId"]
        self._wait("stack_create_complete", stack_id, "create")

    def update(self, template: dict[str, Any]) -> bool:
        """Update the stack to ``template``; False if nothing changed."""
        self._progress(f"updating stack {self.name}")
        with aws_errors(f"update stack {self.name}"):
            try:
                stack_id = self._cfn.update_stack(
                    StackName=self.name,
                    TemplateBody=json.dumps(template),
                    Capabilities=["CAPABILITY_IAM"],
                    Tags=[{"Key": TAG, "Value": self._deployment}],
                )["StackId"]
            except ClientError as err:
                if error_code(err) == "ValidationError" and NO_UPDATES in str(err):
                    self._progress(f"stack {self.name} is up to date")
                    return False
                raise
        self._wait("stack_update_complete", stack_id, "update")
        return True

    def delete(self, stack_id: str) -> None:
        self._progress(f"deleting stack {self.name}")
        with aws_errors(f"delete stack {self.name}"):
            self._cfn.delete_stack(StackName=stack_id)
        self._wait("stack_delete_complete", stack_id, "delete")

    def _wait(self, waiter: str, stack_id: str, action: str) -> None:
        self._progress(f"waiting for CloudFormation to {action} {self.name} (minutes on AWS)")
        with aws_errors(f"wait for stack {self.name}"):
            try:
                self._cfn.get_waiter(waiter).wait(
                    StackName=stack_id, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": MAX_POLLS}
                )
            except WaiterError as err:
                reasons = self.failure_reasons(stack_id)
                raise ProviderException(f"AWS {action} stack {self.name} failed: {reasons or err}") from err
        self._progress(f"stack {self.name}: {action} complete")

    def failure_reasons(self, stack_id: str) -> str:
        """The reasons CloudFormation gave for the resources that failed, most recent first."""
        reasons: list[str] = []
        try:
            pages = self._cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id)
            for page in pages:
                for event in page.get("StackEvents", []):
                    reason = event.get("ResourceStatusReason", "")
                    failed = str(event.get("ResourceStatus", "")).endswith("_FAILED")
                    if failed and reason and "cancelled" not in reason:
                        entry = f"{event.get('LogicalResourceId')}: {reason}"
                        if entry not in reasons:
                            reasons.append(entry)
        except ClientError:
            return ""
        return "; ".join(reasons[:5])
