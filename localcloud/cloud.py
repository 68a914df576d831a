"""The local cloud: template.yaml deployed on moto, the real handlers invoked in-process, driven by a virtual clock.

`LocalCloud` reads the template (its resources, EventBridge rules and patterns, SQS wiring, state machine
definitions with DefinitionSubstitutions resolved, function handlers and environment), creates the matching
moto resources, seeds the world from the control-plane config, and delivers what moto cannot: EventBridge
targets that are Lambda functions or state machines (Lambda targets invoked asynchronously, as AWS does: see
`localcloud.async_invocations`), SQS event source mappings, and time (`settle`). The patches of moto it runs on
are installed through `localcloud.extensions` when it starts (`cloud.extensions` scripts them) and taken out
when it closes.
"""

import contextlib
import importlib.util
import io
import itertools
import json
import logging
import os
import sys
import threading
import traceback
import warnings
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Self

from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import extensions, queues, reuse
from localcloud.async_invocations import AsyncInvocationQueue, EventInvokeConfig
from localcloud.clock import VirtualClock, wait_until_quiescent
from localcloud.emulations.stepfunctions_time import running_execution_count
from localcloud.streams import StreamEventSource, StreamMappingConfig
from localcloud.template import Resolver, TemplateError, load_template, parameter_values, substitute_definition

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STACK_NAME = "mlops-local"
_LOCAL_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "localcloud",
    "AWS_SECRET_ACCESS_KEY": "localcloud",
    "AWS_SESSION_TOKEN": "localcloud",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
_OBSERVER_QUEUES = ("localcloud-notifications", "localcloud-bus-events")
OBSERVER_RULE_PREFIX = "localcloud-"
"""The local cloud's own rules (they copy bus events to its observer queues) are named with this prefix."""


@dataclass(frozen=True)
class TimelineEntry:
    sequence: int
    at: datetime
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Function:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    event_invoke_config: EventInvokeConfig = field(default_factory=EventInvokeConfig)
    module: ModuleType | None = None


@dataclass(frozen=True)
class QueueMapping:
    function: Function
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class _LambdaContext:
    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class _LogCapture(io.TextIOBase):
    """Receives the handlers' structured log lines for the current invocation."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(line))
        return len(text)


_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
"""The history event that ends an execution: nothing follows it."""


def epoch_seconds(moment: Any) -> float | None:
    """An event's `time` as epoch seconds: ISO 8601, epoch milliseconds as a string (SageMaker's endpoint events)
    or epoch seconds (moto's own events); None for anything else or for a moment a datetime cannot hold."""
    try:
        if isinstance(moment, str):
            seconds = (
                int(moment) / 1000
                if moment.isascii() and moment.isdigit()
                else datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
            )
        elif isinstance(moment, int | float) and not isinstance(moment, bool):
            seconds = float(moment)
        else:
            return None
        datetime.fromtimestamp(seconds, UTC)  # moto formats the time back on delivery
    except (ValueError, OverflowError, OSError):
        return None
    return seconds


def _with_epoch_time(event: dict[str, Any]) -> dict[str, Any]:
    """A copy whose `time` is epoch seconds: moto's EventBridge targets expect that inside and format it back to
    ISO 8601 on delivery. Each target gets its own copy, as moto rewrites `time` in place. A `time` that is no
    time is left out (handlers then refuse the event for lacking one)."""
    copy = dict(event)
    seconds = epoch_seconds(copy.pop("time", None))
    if seconds is not None:
        copy["time"] = seconds
    return copy


class LocalCloud:
    """Use as a context manager: `with LocalCloud() as cloud: cloud.put_object(...); cloud.settle()`."""

    def __init__(
        self,
        template_path: Path = ROOT / "template.yaml",
        config_path: Path | None = None,
        parameters: dict[str, str] | None = None,
        start: datetime | None = None,
    ):
        self.template_path = template_path
        self.config_path = config_path
        self.parameter_overrides = {
            "SageMakerExecutionRoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/localcloud",
            **(parameters or {}),
        }
        self.clock = VirtualClock(start) if start else VirtualClock()
        self.timeline: list[TimelineEntry] = []
        self.functions: dict[str, Function] = {}
        self.queue_mappings: list[QueueMapping] = []
        self.stream_sources: list[StreamEventSource] = []
        self.state_machines: dict[str, str] = {}
        self.physical: dict[str, dict[str, str]] = {}
        self.outputs: dict[str, dict[str, str]] = {}
        """The template's Outputs as deployed here: key -> {"Value", "Description"}."""
        self._sequence = itertools.count(1)
        self._execution_status: dict[str, str] = {}
        self._ended_histories: dict[str, list[dict[str, Any]]] = {}
        self._deliveries: deque[tuple[dict[str, Any], dict[str, Any]]] = deque()
        self._async_invocations = AsyncInvocationQueue(self.clock, self.invoke, self._send_to_queue, self.record)
        self._injected_errors: dict[str, deque[tuple[str, str]]] = {}
        self._invoke_lock = threading.RLock()
        self._timeline_lock = threading.Lock()
        self._log_capture = _LogCapture()
        self._saved_environment: dict[str, str | None] = {}
        self._mock: Any = None
        self._extensions: extensions.LocalCloudExtensions | None = None
        self._module_prefix = f"localcloud_fn_{id(self):x}"

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        for name, value in _LOCAL_ENVIRONMENT.items():
            self._saved_environment[name] = os.environ.get(name)
            os.environ[name] = value
        self._mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._mock.start()
        reuse.use_shared_loader()
        # Handlers that publish no metric make Powertools warn at every invocation; the timeline says enough.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        from controlplane import clock as controlplane_clock  # noqa: PLC0415 - imported with the layer on sys.path

        controlplane_clock.use(self.clock.now)
        self._extensions = extensions.install(
            self.clock,
            extensions.Hooks(
                invoke_lambda=self._invoke_from_moto,
                invoke_lambda_async=self._invoke_async_from_moto,
                deliver_event=self._queue_delivery,
                on_pipeline_started=lambda arn: self.record("pipeline", f"SageMaker Pipeline execution started {arn}"),
                on_rule_matched=self._record_rule_match,
            ),
        )
        self._deploy()

    def stop(self) -> None:
        from controlplane import clock as controlplane_clock  # noqa: PLC0415

        if self._extensions is not None:
            self._extensions.uninstall()
            self._extensions = None
        controlplane_clock.use(None)
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    @property
    def extensions(self) -> extensions.LocalCloudExtensions:
        """The emulations installed while the cloud runs: script pipeline and endpoint outcomes, raise alarms."""
        if self._extensions is None:
            raise RuntimeError("The local cloud is not running; use it as a context manager (with LocalCloud() as ...)")
        return self._extensions

    def client(self, service: str) -> Any:
        """The process's boto3 client for the service (`localcloud.reuse.client`)."""
        return reuse.client(service, REGION)

    # ----------------------------------------------------------------- timeline
    def record(self, kind: str, text: str, **data: Any) -> None:
        with self._timeline_lock:
            self.timeline.append(TimelineEntry(next(self._sequence), self.clock.now(), kind, text, data))

    def _record_rule_match(self, rule: Any, event: dict[str, Any]) -> None:
        if not rule.name.startswith(OBSERVER_RULE_PREFIX):
            targets = ", ".join(self.resource_name(target["Arn"]) for target in rule.targets)
            text = f"rule {rule.name} matched '{event.get('detail-type')}' -> {targets}"
            self.record("rule", text, rule=rule.name, event=event)

    def resource_name(self, arn: str) -> str:
        for logical_id, attributes in self.physical.items():
            if arn in attributes.values():
                return logical_id
        return arn.rsplit(":", 1)[-1]

    # ----------------------------------------------------------------- deployment
    def _deploy(self) -> None:
        template = load_template(self.template_path)
        parameters = parameter_values(
            template,
            self.parameter_overrides,
            {
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::Partition": "aws",
                "AWS::StackName": STACK_NAME,
                "AWS::URLSuffix": "amazonaws.com",
            },
        )
        resolver = Resolver(parameters, template.get("Conditions", {}), self._ref, self._get_att)
        resources = {
            logical_id: resource
            for logical_id, resource in template["Resources"].items()
            if "Condition" not in resource or resolver.condition(resource["Condition"])
        }
        for logical_id, resource in resources.items():
            self.physical[logical_id] = self._physical_names(logical_id, resource, resolver)
        globals_function = template.get("Globals", {}).get("Function", {})
        self._create_iam_role()
        by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for logical_id, resource in resources.items():
            by_type.setdefault(resource["Type"], []).append((logical_id, resource))
        # Not created, as nothing the control plane decides depends on them: KMS keys, log groups (and functions'
        # LoggingConfig), bucket policies and access logging, alarms, IAM (never enforced here).
        for logical_id, resource in by_type.get("AWS::S3::Bucket", []):
            self._create_bucket(logical_id, resource, resolver)
        for logical_id, resource in by_type.get("AWS::DynamoDB::Table", []):
            self._create_table(logical_id, resource, resolver)
        for logical_id, _ in by_type.get("AWS::SNS::Topic", []):
            self.client("sns").create_topic(Name=self.physical[logical_id]["Name"])
        queues = by_type.get("AWS::SQS::Queue", [])
        for logical_id, _ in queues:
            self.client("sqs").create_queue(QueueName=self.physical[logical_id]["QueueName"])
        for logical_id, resource in queues:
            self._configure_queue(logical_id, resource, resolver)
        for logical_id, _ in by_type.get("AWS::Events::EventBus", []):
            self.client("events").create_event_bus(Name=self.physical[logical_id]["Name"])
        for logical_id, resource in by_type.get("AWS::Serverless::Function", []):
            self._create_function(logical_id, resource, globals_function, resolver)
        for logical_id, resource in by_type.get("AWS::Serverless::StateMachine", []):
            self._create_state_machine(logical_id, resource, resolver)
        for logical_id, resource in by_type.get("AWS::Events::Rule", []):
            properties = resolver.resolve(resource["Properties"])
            self._create_rule(self.physical[logical_id]["Name"], properties, properties.get("Targets", []))
        for logical_id, resource in by_type.get("AWS::Serverless::Function", []):
            self._wire_function_events(self.functions[logical_id], resource, resolver)
        self._create_observers()
        self.outputs = {
            key: {"Value": str(resolver.resolve(output["Value"])), "Description": str(output.get("Description", ""))}
            for key, output in template.get("Outputs", {}).items()
            if "Condition" not in output or resolver.condition(output["Condition"])
        }
        self.record("deploy", f"deployed {len(resources)} resources of {self.template_path.name} on moto")

    def _physical_names(self, logical_id: str, resource: dict[str, Any], resolver: Resolver) -> dict[str, str]:
        kind = resource["Type"]
        properties = resource.get("Properties", {})
        prefix = f"arn:aws:{{service}}:{REGION}:{ACCOUNT_ID}:"
        default_name = f"{STACK_NAME}-{logical_id}"
        match kind:
            case "AWS::S3::Bucket":
                name = f"{STACK_NAME}-{logical_id}".lower()
                return {"Ref": name, "Arn": f"arn:aws:s3:::{name}", "Name": name}
            case "AWS::DynamoDB::Table":
                return {"Ref": default_name, "Arn": prefix.format(service="dynamodb") + f"table/{default_name}"}
            case "AWS::SNS::Topic":
                arn = prefix.format(service="sns") + default_name
                return {"Ref": arn, "TopicArn": arn, "Name": default_name}
            case "AWS::SQS::Queue":
                url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{default_name}"
                arn = prefix.format(service="sqs") + default_name
                return {"Ref": url, "Arn": arn, "QueueName": default_name, "QueueUrl": url}
            case "AWS::Events::EventBus":
                name = str(resolver.resolve(properties.get("Name", default_name)))
                return {"Ref": name, "Name": name, "Arn": prefix.format(service="events") + f"event-bus/{name}"}
            case "AWS::Events::Rule":
                name = str(resolver.resolve(properties.get("Name", default_name)))
                return {"Ref": name, "Name": name, "Arn": prefix.format(service="events") + f"rule/{name}"}
            case "AWS::Serverless::Function":
                arn = prefix.format(service="lambda") + f"function:{default_name}"
                return {"Ref": default_name, "Arn": arn, "Name": default_name}
            case "AWS::Serverless::StateMachine":
                name = str(resolver.resolve(properties.get("Name", default_name)))
                arn = prefix.format(service="states") + f"stateMachine:{name}"
                return {"Ref": arn, "Arn": arn, "Name": name}
            case "AWS::KMS::Key":
                key_id = f"00000000-0000-4000-8000-{abs(hash(logical_id)) % 10**12:012d}"
                return {"Ref": key_id, "Arn": prefix.format(service="kms") + f"key/{key_id}", "KeyId": key_id}
            case "AWS::Logs::LogGroup":
                name = str(resolver.resolve(properties.get("LogGroupName", default_name)))
                return {"Ref": name, "Arn": prefix.format(service="logs") + f"log-group:{name}:*"}
            case _:
                return {"Ref": default_name, "Arn": prefix.format(service="local") + default_name}

    def _ref(self, logical_id: str) -> str:
        if logical_id not in self.physical:
            raise TemplateError(f"!Ref {logical_id}: no such resource (or its Condition is false)")
        return self.physical[logical_id]["Ref"]

    def _get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.physical[logical_id][attribute]
        except KeyError:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute} is not emulated by the local cloud") from None

    def _create_iam_role(self) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        self.role_arn = self.client("iam").create_role(
            RoleName="localcloud", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]

    def _create_bucket(self, logical_id: str, resource: dict[str, Any], resolver: Resolver) -> None:
        name = self.physical[logical_id]["Name"]
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        properties = resolver.resolve(resource.get("Properties", {}))
        if (
            properties.get("NotificationConfiguration", {})
            .get("EventBridgeConfiguration", {})
            .get("EventBridgeEnabled")
        ):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    def _create_table(self, logical_id: str, resource: dict[str, Any], resolver: Resolver) -> None:
        properties = resolver.resolve(resource["Properties"])
        arguments: dict[str, Any] = {
            "TableName": self.physical[logical_id]["Ref"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if properties.get("GlobalSecondaryIndexes"):
            arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        stream = properties.get("StreamSpecification")
        if stream:
            arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        description = self.client("dynamodb").create_table(**arguments)["TableDescription"]
        if stream:  # the stream's label is the table's creation time, known only now
            self.physical[logical_id]["StreamArn"] = description["LatestStreamArn"]

    def _configure_queue(self, logical_id: str, resource: dict[str, Any], resolver: Resolver) -> None:
        properties = resolver.resolve(resource.get("Properties", {}))
        attributes: dict[str, str] = {}
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
        if "VisibilityTimeout" in properties:
            attributes["VisibilityTimeout"] = str(properties["VisibilityTimeout"])
        if attributes:
            self.client("sqs").set_queue_attributes(
                QueueUrl=self.physical[logical_id]["QueueUrl"], Attributes=attributes
            )

    def _create_function(
        self, logical_id: str, resource: dict[str, Any], globals_function: dict[str, Any], resolver: Resolver
    ) -> None:
        properties = resource["Properties"]
        variables = {
            **resolver.resolve(globals_function.get("Environment", {}).get("Variables", {})),
            **resolver.resolve(properties.get("Environment", {}).get("Variables", {})),
        }
        if self.config_path is not None:
            variables["CONTROLPLANE_CONFIG_PATH"] = str(self.config_path)
        names = self.physical[logical_id]
        function = Function(
            logical_id=logical_id,
            name=names["Name"],
            arn=names["Arn"],
            code_dir=(self.template_path.parent / properties["CodeUri"]).resolve(),
            handler=properties.get("Handler", globals_function.get("Handler", "app.handler")),
            environment={key: str(value) for key, value in variables.items()},
            event_invoke_config=EventInvokeConfig.from_template(
                logical_id,
                resolver.resolve(properties.get("EventInvokeConfig", globals_function.get("EventInvokeConfig"))),
            ),
        )
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", "# executed in-process by the local cloud\n")
        self.client("lambda").create_function(
            FunctionName=function.name,
            Runtime=properties.get("Runtime", globals_function.get("Runtime", "python3.13")),
            Role=self.role_arn,
            Handler=function.handler,
            Code={"ZipFile": archive.getvalue()},
            Environment={"Variables": function.environment},
        )
        self.functions[logical_id] = function

    def _wire_function_events(self, function: Function, resource: dict[str, Any], resolver: Resolver) -> None:
        for event_id, event in resource["Properties"].get("Events", {}).items():
            properties = resolver.resolve(event.get("Properties", {}))
            match event["Type"]:
                case "SQS":
                    queue_arn = properties["Queue"]
                    queue_name = queue_arn.rsplit(":", 1)[-1]
                    self.queue_mappings.append(
                        QueueMapping(
                            function=function,
                            queue_url=self.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"],
                            queue_arn=queue_arn,
                            batch_size=int(properties.get("BatchSize", 10)),
                            report_batch_item_failures="ReportBatchItemFailures"
                            in properties.get("FunctionResponseTypes", []),
                        )
                    )
                case "DynamoDB":
                    self.stream_sources.append(self._stream_source(function, properties))
                case "EventBridgeRule":
                    target: dict[str, Any] = {"Id": f"{function.logical_id}{event_id}", "Arn": function.arn}
                    for key in ("RetryPolicy", "DeadLetterConfig"):
                        if key in properties:
                            target[key] = properties[key]
                    name = properties.get("RuleName", f"{STACK_NAME}-{function.logical_id}{event_id}")
                    self._create_rule(name, {**properties, "EventPattern": properties["Pattern"]}, [target])
                case other:
                    raise TemplateError(f"{function.logical_id}: event type {other} is not emulated by the local cloud")

    def _stream_source(self, function: Function, properties: dict[str, Any]) -> StreamEventSource:
        from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415

        stream_arn = properties.get("Stream")
        table_id = next((id_ for id_, names in self.physical.items() if names.get("StreamArn") == stream_arn), None)
        if table_id is None:
            raise TemplateError(
                f"{function.logical_id}: DynamoDB event Stream {stream_arn!r} is not the StreamArn of a table in the "
                "template; give the table a StreamSpecification and use !GetAtt <Table>.StreamArn"
            )
        table = dynamodb_backends[ACCOUNT_ID][REGION].get_table(self.physical[table_id]["Ref"])
        return StreamEventSource(
            function,
            stream_arn,
            table.stream_shard,
            StreamMappingConfig.from_template(function.logical_id, properties),
            self.clock,
            self.invoke,
            self._send_to_queue,
            self.record,
        )

    def _create_rule(self, name: str, properties: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        events = self.client("events")
        bus = properties.get("EventBusName", "default")
        events.put_rule(Name=name, EventPattern=json.dumps(properties["EventPattern"]), EventBusName=bus)
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)

    def _create_state_machine(self, logical_id: str, resource: dict[str, Any], resolver: Resolver) -> None:
        properties = resource["Properties"]
        definition = (self.template_path.parent / properties["DefinitionUri"]).read_text(encoding="utf-8")
        substitutions = resolver.resolve(properties.get("DefinitionSubstitutions", {}))
        names = self.physical[logical_id]
        arn = self.client("stepfunctions").create_state_machine(
            name=names["Name"],
            definition=substitute_definition(definition, substitutions),
            roleArn=self.role_arn,
            type=properties.get("Type", "STANDARD"),
        )["stateMachineArn"]
        self.state_machines[logical_id] = arn

    def _create_observers(self) -> None:
        """Queues that let the local cloud show what the control plane announced (not part of the stack)."""
        sqs = self.client("sqs")
        urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in _OBSERVER_QUEUES}
        self.observer_urls = urls
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:"
        for logical_id, names in self.physical.items():
            if names.get("TopicArn"):
                self.client("sns").subscribe(
                    TopicArn=names["TopicArn"],
                    Protocol="sqs",
                    Endpoint=arn + "localcloud-notifications",
                    Attributes={"RawMessageDelivery": "false"},
                )
            if names.get("Arn", "").startswith(f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/"):
                self._create_rule(
                    f"{OBSERVER_RULE_PREFIX}observe-{logical_id}",
                    {"EventBusName": names["Name"], "EventPattern": {"account": [ACCOUNT_ID]}},
                    [{"Id": "observer", "Arn": arn + "localcloud-bus-events"}],
                )

    # ----------------------------------------------------------------- the world
    @property
    def data_bucket(self) -> str:
        for names in self.physical.values():
            if names["Arn"].startswith("arn:aws:s3:::"):
                return names["Name"]
        return self.parameter_overrides["DataBucketName"]

    @property
    def control_plane_bus(self) -> str:
        return next(names["Name"] for names in self.physical.values() if ":event-bus/" in names.get("Arn", ""))

    @property
    def ledger_table(self) -> str:
        return next(names["Ref"] for names in self.physical.values() if ":table/" in names["Arn"])

    def on_failure_destinations(self) -> set[str]:
        """Logical ids of the queues that receive Lambda's on-failure invocation records."""
        arns = {function.event_invoke_config.on_failure_queue_arn for function in self.functions.values()}
        arns |= {source.config.on_failure_queue_arn for source in self.stream_sources}
        return {logical_id for logical_id, names in self.physical.items() if names.get("Arn") in arns}

    def state_machine_arn(self, logical_id: str) -> str:
        return self.state_machines[logical_id]

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events (GetExecutionHistory, up to 1,000); an ended execution's is read once, as
        it never changes again (no execution is redriven here; moto serializes a history in tens of milliseconds)."""
        remembered = self._ended_histories.get(execution_arn)
        if remembered is not None:
            return remembered
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        if events and events[-1]["type"] in _EXECUTION_ENDS:
            self._ended_histories[execution_arn] = events
        return events

    def seed(self, config: Any) -> None:
        """Create what the config refers to: one SageMaker Pipeline per model, its Model Package Group."""
        sagemaker = self.client("sagemaker")
        if self.parameter_overrides.get("DataBucketName"):
            self.client("s3").create_bucket(Bucket=self.parameter_overrides["DataBucketName"])
        for model in config.models:
            sagemaker.create_pipeline(
                PipelineName=model.pipeline.name,
                PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
                RoleArn=self.role_arn,
            )
            sagemaker.create_model_package_group(ModelPackageGroupName=model.model_package_group)
        self.record("seed", f"seeded {len(config.models)} model(s): " + ", ".join(m.name for m in config.models))

    def put_object(self, key: str, body: bytes = b"x", bucket: str | None = None) -> None:
        self.record("s3", f"PutObject s3://{bucket or self.data_bucket}/{key} ({len(body)} bytes)", key=key)
        self.client("s3").put_object(Bucket=bucket or self.data_bucket, Key=key, Body=body)

    def put_event(self, event: dict[str, Any], bus_name: str = "default") -> int:
        """Deliver an AWS-shaped EventBridge event, unchanged, to the matching rules of a bus; return how many
        of the template's rules matched (the local cloud's own observer rules receive it too, uncounted)."""
        from moto.events.models import events_backends  # noqa: PLC0415

        bus = events_backends[ACCOUNT_ID][REGION].event_buses[bus_name]
        matched = [rule for rule in bus.rules.values() if rule.event_pattern.matches_event(event)]
        for rule in matched:
            rule.send_to_targets(_with_epoch_time(event))
        return sum(1 for rule in matched if not rule.name.startswith(OBSERVER_RULE_PREFIX))

    # ----------------------------------------------------------------- delivery and time
    def _queue_delivery(self, target: dict[str, Any], event: dict[str, Any]) -> None:
        self._deliveries.append((target, event))

    def _drain_deliveries(self) -> bool:
        progressed = self._async_invocations.run_due()
        while self._deliveries:
            target, event = self._deliveries.popleft()
            progressed = True
            arn = target["Arn"]
            if ":function:" in arn:
                self._deliver_to_function(target, event)
            elif ":stateMachine:" in arn:
                name = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(event.get("id")))[:80]
                try:
                    self.client("stepfunctions").start_execution(
                        stateMachineArn=arn, name=name, input=json.dumps(event)
                    )
                except ClientError as error:
                    self._dead_letter(target, event, error.response["Error"]["Code"], str(error))
        return progressed | self._async_invocations.run_due()

    def _deliver_to_function(self, target: dict[str, Any], event: dict[str, Any]) -> None:
        """EventBridge invokes a Lambda target asynchronously: once Lambda accepts the event, handler errors are
        Lambda's to retry (see `localcloud.async_invocations`); only a failed delivery reaches the rule's DLQ."""
        from moto.awslambda.exceptions import UnknownFunctionException  # noqa: PLC0415
        from moto.awslambda.utils import get_backend  # noqa: PLC0415 - the backend mock_aws's config selected

        name = target["Arn"].rsplit(":function:", 1)[-1].split(":", 1)[0]
        try:
            get_backend(ACCOUNT_ID, REGION).get_function(name)
            function = self._function_by_name(name)
        except (UnknownFunctionException, KeyError):
            # A missing target is not retriable: EventBridge sends the event to the DLQ at once.
            self._dead_letter(target, event, "ResourceNotFoundException", f"Function not found: {target['Arn']}")
            return
        self._async_invocations.submit(function, event)

    def _dead_letter(self, target: dict[str, Any], event: Any, error_code: str, error_message: str) -> None:
        """EventBridge could not deliver `event` to `target`: its DeadLetterConfig queue gets the event, with the
        message attributes the EventBridge User Guide lists ("Using dead-letter queues to process undelivered
        events"); without one the event is dropped."""
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        target_name = self.resource_name(target["Arn"])
        if not dead_letter:
            self.record("dlq", f"EventBridge dropped an event for {target_name}: {error_code} (no dead-letter queue)")
            return
        attributes = {
            "ERROR_CODE": error_code,
            "ERROR_MESSAGE": error_message,
            "TARGET_ARN": target["Arn"],
            "RETRY_ATTEMPTS": "0",
        }
        queue_url = self.client("sqs").get_queue_url(QueueName=dead_letter.rsplit(":", 1)[-1])["QueueUrl"]
        self.client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        )
        self.record(
            "dlq",
            f"EventBridge could not deliver to {target_name} ({error_code}): event sent to its dead-letter queue",
            error={"errorType": error_code, "errorMessage": error_message},
        )

    def _send_to_queue(self, queue_arn: str, body: str) -> None:
        sqs = self.client("sqs")
        try:
            queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        except ClientError as error:  # Lambda counts a DestinationDeliveryFailures metric and drops the record
            self.record("lambda-async", f"Lambda could not deliver to destination {queue_arn}: {error}")

    def _poll_queues(self) -> bool:
        """One batch per SQS event source mapping (localcloud.queues: constant work per message)."""
        progressed = False
        for mapping in self.queue_mappings:
            queue = queues.queue_named(ACCOUNT_ID, REGION, mapping.queue_arn.rsplit(":", 1)[-1])
            batch = queues.receive_batch(queue, mapping.batch_size)
            if not batch:
                continue
            progressed = True
            records = [queues.lambda_record(message, mapping.queue_arn, REGION) for message in batch]
            response, error = self.invoke(mapping.function, {"Records": records})
            failed: set[str] = set()
            if error is not None:
                failed = {record["messageId"] for record in records}
            elif mapping.report_batch_item_failures and isinstance(response, dict):
                failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
            queues.complete_batch(queue, batch, failed)
        return progressed

    def _poll_streams(self) -> bool:
        progressed = False
        for source in self.stream_sources:  # every source, no short-circuit
            progressed |= source.poll()
        return progressed

    def _drain_observers(self) -> None:
        sqs = self.client("sqs")
        for name, url in self.observer_urls.items():
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                for message in messages:
                    body = json.loads(message["Body"])
                    if name == "localcloud-notifications":
                        self.record("sns", f"SNS notification: {body.get('Subject')}", message=body.get("Message"))
                    else:
                        self.record(
                            "bus",
                            f"event on the control-plane bus: {body.get('detail-type')}",
                            detail=body.get("detail"),
                        )
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _observe_executions(self) -> None:
        sfn = self.client("stepfunctions")
        for logical_id, arn in self.state_machines.items():
            for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
                name, status = execution["name"], execution["status"]
                seen = self._execution_status.get(name)
                if seen is None:
                    self.record("execution", f"{logical_id} execution {name} started", execution=name)
                if status not in {"RUNNING", seen}:
                    described = sfn.describe_execution(executionArn=execution["executionArn"])
                    error = f" ({described.get('error')}: {described.get('cause')})" if described.get("error") else ""
                    self.record("execution", f"{logical_id} execution {name} {status}{error}", execution=name)
                self._execution_status[name] = status

    def _wait_for_executions(self) -> None:
        wait_until_quiescent(self.clock, running_execution_count)

    def settle(self, horizon: datetime | None = None, fire_timers: bool = True, max_rounds: int = 1_000_000) -> None:
        """Run until nothing is left to do: deliveries made, queues drained, executions parked or finished,
        and (with `fire_timers`) every timer up to `horizon` fired on the virtual clock, without sleeping."""
        for _ in range(max_rounds):
            self._wait_for_executions()
            if self._drain_deliveries() or self._poll_queues() or self._poll_streams():
                self._observe_executions()
                continue
            self._drain_observers()
            self._observe_executions()
            deadline = self.clock.next_deadline()
            if fire_timers and deadline is not None and (horizon is None or deadline <= horizon):
                self.clock.fire_next()
                continue
            return
        raise RuntimeError(f"The local cloud did not settle within {max_rounds} rounds")

    def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass, running everything due in between."""
        horizon = self.clock.now() + timedelta(seconds=seconds)
        self.settle(horizon=horizon)
        self.clock.call_at(horizon, lambda: None)
        self.clock.fire_next()
        self.settle(horizon=horizon)

    # ----------------------------------------------------------------- Lambda
    def _function_by_name(self, name: str) -> Function:
        for function in self.functions.values():
            if name in (function.name, function.arn, function.logical_id):
                return function
        raise KeyError(f"No function named {name} in the template")

    def _invoke_from_moto(self, function_name: str, payload: bytes) -> tuple[bytes, str | None]:
        name = function_name.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        response, error = self.invoke(self._function_by_name(name), json.loads(payload or b"{}"))
        if error is not None:
            return json.dumps(error).encode(), "Unhandled"
        return json.dumps(response).encode(), None

    def _invoke_async_from_moto(self, function_name: str, payload: bytes) -> None:
        name = function_name.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        self._async_invocations.submit(self._function_by_name(name), json.loads(payload or b"{}"))

    def inject_errors(
        self, logical_id: str, count: int = 1, error_type: str = "InjectedError", message: str = "injected failure"
    ) -> None:
        """Make the next `count` invocations of a function fail with `error_type` without running its handler,
        as a crashed or timed-out invocation would (tests and the demo use it to exercise retries)."""
        if logical_id not in self.functions:
            raise KeyError(f"No function {logical_id} in the template; choose one of {sorted(self.functions)}")
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self._injected_errors.setdefault(logical_id, deque()).extend([(error_type, message)] * count)

    def _load_handler(self, function: Function) -> Any:
        if function.module is None:
            module_file, _, _ = function.handler.rpartition(".")
            path = function.code_dir / f"{module_file.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(f"{self._module_prefix}_{function.logical_id}", path)
            if spec is None or spec.loader is None:
                raise TemplateError(f"{function.logical_id}: handler file {path} not found")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            function.module = module
        return getattr(function.module, function.handler.rpartition(".")[2])

    @contextlib.contextmanager
    def _function_environment(self, function: Function) -> Iterator[None]:
        saved = {name: os.environ.get(name) for name in function.environment}
        os.environ.update(function.environment)
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = function.name
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def invoke(self, function: Function, event: Any) -> tuple[Any, dict[str, str] | None]:
        """Run the function's real handler in-process; returns (response, None) or (None, error payload)."""
        with self._invoke_lock, self._function_environment(function):
            handler = self._load_handler(function)
            from controlplane.observability import logger, metrics  # noqa: PLC0415 - after the function's environment

            # Logger and Metrics are process-wide here and may predate this function's environment.
            logger.append_keys(service=function.environment.get("POWERTOOLS_SERVICE_NAME", function.name))
            metrics.namespace = function.environment.get("POWERTOOLS_METRICS_NAMESPACE", "LocalCloud")
            logger.setLevel(logging.DEBUG)
            logger.registered_handler.setStream(self._log_capture)  # type: ignore[attr-defined]
            self._log_capture.lines = []
            context = _LambdaContext(function.name, function.arn, f"local-{next(self._sequence)}")
            error: dict[str, str] | None = None
            response: Any = None
            injected = self._injected_errors.get(function.logical_id)
            try:
                if injected:
                    error_type, message = injected.popleft()
                    raise type(error_type, (Exception,), {})(message)
                response = handler(event, context)
            except Exception as exception:  # a Lambda runtime reports any exception as the invocation's error
                error = {
                    "errorType": type(exception).__name__,
                    "errorMessage": str(exception),
                    "stackTrace": traceback.format_exception(exception)[-3:],
                }
            # One process serves every function here: metrics are disabled, so nothing flushes them.
            metrics.clear_metrics()
            logs = self._log_capture.lines
        self.record(
            "lambda",
            self._describe_invocation(function, event, error),
            function=function.logical_id,
            error=error,
            logs=logs,
            response=response,
        )
        return response, error

    @staticmethod
    def _describe_invocation(function: Function, event: Any, error: dict[str, str] | None) -> str:
        if isinstance(event, dict) and "Records" in event:
            source = "DynamoDB stream" if event["Records"][:1] and "dynamodb" in event["Records"][0] else "SQS"
            what = f"{len(event['Records'])} {source} record(s)"
        elif isinstance(event, dict) and "action" in event:
            what = f"task {event['action']}"
        elif isinstance(event, dict) and "detail-type" in event:
            what = f"'{event['detail-type']}' event"
        else:
            what = "an event"
        suffix = f" -> {error['errorType']}: {error['errorMessage'].splitlines()[0]}" if error else ""
        return f"{function.logical_id} invoked with {what}{suffix}"
