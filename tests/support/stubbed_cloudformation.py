"""A stubbed CloudFormation for the deploy tests.

moto's CloudFormation cannot run the SAM transform, so the tests script
CloudFormation's answers with botocore's Stubber (which also checks every
request's parameters), while S3, STS, DynamoDB and Cognito are moto's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.stub import ANY, Stubber

REGION, ACCOUNT = "us-east-1", "123456789012"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CAPABILITIES = ["CAPABILITY_IAM"]  # the template comes expanded: no CAPABILITY_AUTO_EXPAND
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


def stack_id(stage: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/petstore-{stage}/0d1e2f"


def change_set_id(stage: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/deploy-1/{stage}"


def stack(
    stage: str, status: str, outputs: dict[str, str] | None = None, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "StackName": f"petstore-{stage}",
        "StackId": stack_id(stage),
        "CreationTime": T0,
        "StackStatus": status,
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
    }


def event(
    stage: str, n: int, logical_id: str, status: str, kind: str = "AWS::CloudFormation::Stack", reason: str = ""
) -> dict[str, Any]:
    found = {
        "StackId": stack_id(stage),
        "EventId": f"event-{n}",
        "StackName": f"petstore-{stage}",
        "LogicalResourceId": logical_id,
        "ResourceType": kind,
        "Timestamp": T0 + timedelta(seconds=n),
        "ResourceStatus": status,
    }
    if reason:
        found["ResourceStatusReason"] = reason
    return found


class FakeCloudFormation:
    """Queues CloudFormation's answers, in the order the deploy asks its questions."""

    def __init__(self, client: Any, stage: str = "dev") -> None:
        self.stage = stage
        self.stubber = Stubber(client)
        self.history: list[dict[str, Any]] = []  # every event so far, oldest first

    @property
    def name(self) -> str:
        return f"petstore-{self.stage}"

    def no_stack(self) -> None:
        self.stubber.add_client_error(
            "describe_stacks",
            "ValidationError",
            f"Stack with id {self.name} does not exist",
            400,
            expected_params={"StackName": self.name},
        )

    def has_stack(self, found: dict[str, Any]) -> None:
        self.stubber.add_response("describe_stacks", {"Stacks": [found]}, {"StackName": self.name})

    def change_set(
        self,
        change_set_type: str,
        parameters: list[dict[str, Any]],
        status: str = "CREATE_COMPLETE",
        reason: str = "",
        changes: list[dict[str, Any]] | None = None,
    ) -> None:
        self.stubber.add_response(
            "create_change_set",
            {"Id": change_set_id(self.stage), "StackId": stack_id(self.stage)},
            {
                "StackName": self.name,
                "ChangeSetName": ANY,
                "ChangeSetType": change_set_type,
                "TemplateURL": ANY,
                "Parameters": parameters,
                "Capabilities": CAPABILITIES,
                "Description": ANY,
            },
        )
        described: dict[str, Any] = {
            "ChangeSetId": change_set_id(self.stage),
            "StackId": stack_id(self.stage),
            "StackName": self.name,
            "Status": status,
            "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE",
            "Changes": changes if changes is not None else [add("SearchFunction", "AWS::Lambda::Function")],
        }
        if reason:
            described["StatusReason"] = reason
        self.stubber.add_response("describe_change_set", described, {"ChangeSetName": change_set_id(self.stage)})
        if status == "FAILED" and reason == NO_CHANGES:
            self.stubber.add_response("delete_change_set", {}, {"ChangeSetName": change_set_id(self.stage)})

    def events_so_far(self, *new: dict[str, Any]) -> None:
        """describe_stack_events: the new events on top of the older ones (newest first)."""
        self.history += new
        self.stubber.add_response(
            "describe_stack_events", {"StackEvents": self.history[::-1]}, {"StackName": stack_id(self.stage)}
        )

    def execute(self) -> None:
        self.events_so_far()
        self.stubber.add_response("execute_change_set", {}, {"ChangeSetName": change_set_id(self.stage)})

    def delete(self) -> None:
        self.events_so_far()
        self.stubber.add_response("delete_stack", {}, {"StackName": stack_id(self.stage)})

    def poll(self, found: dict[str, Any], *new_events: dict[str, Any]) -> None:
        self.stubber.add_response("describe_stacks", {"Stacks": [found]}, {"StackName": stack_id(self.stage)})
        self.events_so_far(*new_events)


def add(logical_id: str, kind: str) -> dict[str, Any]:
    return {
        "Type": "Resource",
        "ResourceChange": {"Action": "Add", "LogicalResourceId": logical_id, "ResourceType": kind},
    }
