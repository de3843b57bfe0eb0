"""A stage's CloudFormation stack: its state, outputs and parameters, and watching it change.

Every function takes a boto3 CloudFormation client; waits take a ``Watch``,
so tests can drive them with a stubbed client and never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

Out = Callable[[str], None]

# Stacks created from a change set wait here until it is executed: not busy.
READY_FOR_CREATE = "REVIEW_IN_PROGRESS"
SUCCEEDED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}


class StackError(Exception):
    """Something the person deploying must know or do; the message says what."""


def stack_name(stage: str) -> str:
    return f"petstore-{stage}"


@dataclass
class Watch:
    """How to wait: the poll interval, the bound, and the clock (tests inject them)."""

    poll_seconds: float = 5.0
    timeout_seconds: float = 90 * 60.0  # a first CloudFront distribution can take a while
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    deadline: float = field(default=0.0, init=False)

    def start(self) -> Watch:
        self.deadline = self.clock() + self.timeout_seconds
        return self

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def pause(self) -> None:
        self.sleep(self.poll_seconds)


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack, or None when there is no stack of that name."""
    try:
        return dict(cfn.describe_stacks(StackName=name)["Stacks"][0])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationError" and "does not exist" in error.get("Message", ""):
            return None
        raise


def outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def parameters(stack: Mapping[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def settled(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def is_busy(status: str) -> bool:
    """Another operation runs on the stack (a stack waiting for its first change set is not busy)."""
    return not settled(status) and status != READY_FOR_CREATE


def newest_event_id(cfn: Any, stack_id: str) -> str | None:
    """The id of the stack's latest event: what happens next is newer than it."""
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    return str(events[0]["EventId"]) if events else None


def events_since(cfn: Any, stack_id: str, mark: str | None, seen: set[str]) -> list[dict[str, Any]]:
    """Events after ``mark`` not in ``seen``, oldest first (CloudFormation lists newest first)."""
    fresh: list[dict[str, Any]] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        for event in page["StackEvents"]:
            if event["EventId"] == mark or event["EventId"] in seen:
                return fresh[::-1]
            fresh.append(event)
    return fresh[::-1]


def describe_event(event: Mapping[str, Any]) -> str:
    line = f"  {event['Timestamp']:%H:%M:%S}  {event['ResourceStatus']:<20} {event['LogicalResourceId']}"
    line += f" ({event.get('ResourceType', '?')})"
    reason = event.get("ResourceStatusReason")
    return f"{line}: {reason}" if reason else line


def failure_reasons(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Why resources failed, oldest first: the first line is usually the cause."""
    return [
        f"{e['LogicalResourceId']} ({e.get('ResourceType', '?')}): {e['ResourceStatusReason']}"
        for e in events
        if e["ResourceStatus"].endswith("_FAILED") and e.get("ResourceStatusReason")
    ]


@dataclass
class Outcome:
    stack: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.stack["StackStatus"])

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED


def follow(cfn: Any, stack_id: str, mark: str | None, watch: Watch, out: Out) -> Outcome:
    """Print the stack's events as they come until it settles (bounded by ``watch``)."""
    watch.start()
    seen: set[str] = set()
    events: list[dict[str, Any]] = []
    while True:
        stack = dict(cfn.describe_stacks(StackName=stack_id)["Stacks"][0])
        for event in events_since(cfn, stack_id, mark, seen):
            seen.add(event["EventId"])
            events.append(event)
            out(describe_event(event))
        status = stack["StackStatus"]
        if settled(status):
            return Outcome(stack, events)
        if watch.expired():
            raise StackError(
                f"{stack['StackName']} is still {status} after {watch.timeout_seconds / 60:.0f} minutes; "
                "follow it in the CloudFormation console and run the command again once it has settled"
            )
        watch.pause()


def report_failure(outcome: Outcome, what: str) -> StackError:
    reasons = failure_reasons(outcome.events) or [outcome.stack.get("StackStatusReason") or "no reason given"]
    lines = "\n".join(f"  - {reason}" for reason in reasons)
    return StackError(f"{what} failed: {outcome.stack['StackName']} is {outcome.status}. Why:\n{lines}")


def delete(cfn: Any, stack: Mapping[str, Any], watch: Watch, out: Out) -> Outcome:
    """Delete the stack and wait until it is gone."""
    stack_id = stack["StackId"]
    mark = newest_event_id(cfn, stack_id)
    cfn.delete_stack(StackName=stack_id)
    outcome = follow(cfn, stack_id, mark, watch, out)
    if not outcome.succeeded:
        raise report_failure(outcome, f"deleting {stack['StackName']}")
    return outcome


# The template has IAM roles without names (CAPABILITY_IAM); no named roles, so
# no CAPABILITY_NAMED_IAM; already expanded (infra/expand.py), so no
# CAPABILITY_AUTO_EXPAND.
CAPABILITIES = ["CAPABILITY_IAM"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass
class ChangeSet:
    id: str
    stack_id: str
    changes: list[dict[str, Any]]


def change_set_parameters(
    declared: Mapping[str, Any], given: Mapping[str, str], previous: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """Given values win; on an update the others keep their previous value; on a create, their default."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise StackError(f"the template has no parameter {', '.join(unknown)} (it has {', '.join(declared)})")
    chosen: list[dict[str, Any]] = []
    for name, spec in declared.items():
        if name in given:
            chosen.append({"ParameterKey": name, "ParameterValue": given[name]})
        elif previous is not None and name in previous:
            chosen.append({"ParameterKey": name, "UsePreviousValue": True})
        elif "Default" not in spec:
            raise StackError(f"parameter {name} has no default: pass --parameter {name}=<value>")
    return chosen


def create_change_set(
    cfn: Any, name: str, change_set_type: str, template_url: str, params: list[dict[str, Any]], watch: Watch
) -> ChangeSet | None:
    """A reviewed change set, or None (and no change set left behind) when nothing would change."""
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"deploy-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}",
        ChangeSetType=change_set_type,
        TemplateURL=template_url,
        Parameters=params,
        Capabilities=CAPABILITIES,
        Description="make deploy",
    )
    description = wait_for_change_set(cfn, created["Id"], watch)
    if description["Status"] == "FAILED":
        reason = str(description.get("StatusReason", ""))
        if any(marker in reason for marker in NO_CHANGES):
            cfn.delete_change_set(ChangeSetName=created["Id"])
            return None
        raise StackError(f"CloudFormation refused the change set of {name}: {reason}")
    return ChangeSet(created["Id"], created["StackId"], description["Changes"])


def wait_for_change_set(cfn: Any, change_set_id: str, watch: Watch) -> dict[str, Any]:
    """The change set once CloudFormation has worked it out, with every page of its changes."""
    watch.start()
    while True:
        description = dict(cfn.describe_change_set(ChangeSetName=change_set_id))
        if description["Status"] in ("CREATE_COMPLETE", "FAILED"):
            break
        if watch.expired():
            raise StackError(f"change set {change_set_id} is still {description['Status']}: look at it in the console")
        watch.pause()
    changes = list(description.get("Changes", []))
    token = description.get("NextToken")
    while token:
        page = cfn.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
        changes += page.get("Changes", [])
        token = page.get("NextToken")
    description["Changes"] = changes
    return description


def describe_change(change: Mapping[str, Any]) -> str:
    resource = change.get("ResourceChange", {})
    line = f"  {resource.get('Action', '?'):<7} {resource.get('LogicalResourceId', '?')}"
    line += f" ({resource.get('ResourceType', '?')})"
    return line + (" - replaced" if resource.get("Replacement") == "True" else "")


def execute(cfn: Any, change_set: ChangeSet, watch: Watch, out: Out) -> Outcome:
    mark = newest_event_id(cfn, change_set.stack_id)
    cfn.execute_change_set(ChangeSetName=change_set.id)
    return follow(cfn, change_set.stack_id, mark, watch, out)
