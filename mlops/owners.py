"""Owners' subscriptions to the control plane's notifications: each model's owner gets an email subscription to
the stack's topic whose filter policy selects the announcements about the team's models (the outbox sets the SNS
message attribute `owner` to the model's team)."""

from __future__ import annotations

import json
from typing import Any

from controlplane.config import ControlPlaneConfig
from mlops.connection import Connection


def filter_policy(team: str) -> dict[str, list[str]]:
    return {"owner": [team]}


def _subscriptions(sns: Any, topic: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"TopicArn": topic}
    while True:
        page = sns.list_subscriptions_by_topic(**query)
        found += page["Subscriptions"]
        if not page.get("NextToken"):
            return found
        query["NextToken"] = page["NextToken"]


def _team_filter(sns: Any, subscription_arn: str) -> list[str]:
    """The owner teams a subscription's filter policy selects; [] without one (or while it awaits confirmation)."""
    if not subscription_arn.startswith("arn:"):
        return []
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    teams = json.loads(attributes.get("FilterPolicy") or "{}").get("owner", [])
    return [str(team) for team in teams] if isinstance(teams, list) else []


def owner_subscriptions(connection: Connection, config: ControlPlaneConfig) -> list[dict[str, Any]]:
    """Per owner (team and contact): the models it owns and whether its contact has a subscription that filters
    on its team."""
    sns = connection.client("sns")
    topic = connection.output("NotificationTopicArn")
    subscriptions = _subscriptions(sns, topic)
    owners: dict[tuple[str, str], list[str]] = {}
    for model in config.models:
        if model.owner is not None:
            owners.setdefault((model.owner.team, model.owner.contact), []).append(model.name)
    return [
        {
            "team": team,
            "contact": contact,
            "models": models,
            "subscribed": any(
                subscription["Endpoint"] == contact and team in _team_filter(sns, subscription["SubscriptionArn"])
                for subscription in subscriptions
            ),
        }
        for (team, contact), models in owners.items()
    ]


def subscribe_owners(connection: Connection, config: ControlPlaneConfig) -> list[dict[str, Any]]:
    """Subscribe each owner's contact (email) that has no filtered subscription yet; returns every owner's view,
    `subscribed` true for those just subscribed (SNS then sends the contact a confirmation email)."""
    sns = connection.client("sns")
    topic = connection.output("NotificationTopicArn")
    owners = owner_subscriptions(connection, config)
    for owner in owners:
        if not owner["subscribed"]:
            sns.subscribe(
                TopicArn=topic,
                Protocol="email",
                Endpoint=owner["contact"],
                Attributes={"FilterPolicy": json.dumps(filter_policy(owner["team"]))},
                ReturnSubscriptionArn=True,
            )
            owner["subscribed"] = True
    return owners
