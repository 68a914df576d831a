"""What an S3 object means for training: which model and dataset it belongs to, and whether it starts a run.

A dataset is a folder under a model's `data_trigger.prefix`: either the first `dataset_depth` folder levels
below it, or the part of the key matched by `dataset_pattern` (which must end at a '/').
"""

import re
from typing import Literal, NamedTuple

from controlplane.config import ControlPlaneConfig, DataTrigger, ModelConfig
from controlplane.models import dataset_uri_problem, s3_key_problem


class Dataset(NamedTuple):
    model: str
    bucket: str
    prefix: str
    """Key prefix of the dataset, ending in '/'."""
    dataset_id: str
    """The dataset's path below the model prefix, without the trailing '/', e.g. '2026-11-27'."""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class ObjectDecision(NamedTuple):
    action: Literal["ignore", "reject", "trigger", "touch"]
    """ignore: no effect; reject: a key or dataset the control plane cannot carry (recorded with the reason);
    trigger: the dataset is complete; touch: the dataset is still arriving."""
    reason: str
    model: ModelConfig | None = None
    dataset: Dataset | None = None


def dataset_folder(trigger: DataTrigger, relative_key: str) -> str | None:
    """The dataset part of a key relative to the model prefix, ending in '/', or None if it has none."""
    if trigger.dataset_pattern is not None:
        match = re.match(trigger.dataset_pattern, relative_key)
        if not match or not match.group(0).endswith("/") or match.end() >= len(relative_key):
            return None
        return match.group(0)
    folders = relative_key.split("/")[:-1]
    if len(folders) < trigger.depth or any(not folder for folder in folders[: trigger.depth]):
        return None
    return "/".join(folders[: trigger.depth]) + "/"


def classify_object(config: ControlPlaneConfig, bucket: str, key: str, size: int) -> ObjectDecision:
    """Decide what one created object means. Pure: no I/O, no clock."""
    problem = s3_key_problem(key)
    if problem is not None:
        return ObjectDecision("reject", problem, config.model_for_key(key))
    if key.endswith("/"):
        return ObjectDecision("ignore", f"'{key}' is a folder placeholder ({size} bytes), not data")
    for output_prefix in config.output_prefixes:
        if key.startswith(output_prefix):
            return ObjectDecision("ignore", f"'{key}' is under '{output_prefix}', the control plane's own output")
    model = config.model_for_key(key)
    if model is None:
        return ObjectDecision("ignore", f"'{key}' is outside every configured data_trigger.prefix")
    trigger = model.data_trigger
    relative_key = key[len(trigger.prefix) :]
    folder = dataset_folder(trigger, relative_key)
    if folder is None:
        expected = (
            f"a key matching dataset_pattern '{trigger.dataset_pattern}'"
            if trigger.dataset_pattern
            else f"{trigger.depth} folder level(s) below '{trigger.prefix}'"
        )
        return ObjectDecision("ignore", f"'{key}' is not inside a dataset folder (expected {expected})", model)
    dataset = Dataset(model.name, bucket, trigger.prefix + folder, folder.rstrip("/"))
    problem = dataset_uri_problem(dataset.uri)
    if problem is not None:
        return ObjectDecision("reject", f"its dataset cannot be trained: {problem}", model)
    if trigger.mode == "quiet_period":
        return ObjectDecision("touch", f"object arrived in dataset {dataset.uri}", model, dataset)
    file_in_dataset = relative_key[len(folder) :]
    if file_in_dataset in trigger.marker_names:
        return ObjectDecision("trigger", f"completion marker '{file_in_dataset}' arrived", model, dataset)
    markers = " or ".join(trigger.marker_names)
    return ObjectDecision("ignore", f"'{key}' is data, not a completion marker ({markers})", model, dataset)


SEQUENCER_WIDTH = 32
"""Sequencers are right-padded to this many hex digits, so that DynamoDB's string order is S3's order."""


def sequencer_order(sequencer: str | None) -> str | None:
    """An S3 sequencer as a string that sorts in S3's order, or None when absent or not hexadecimal.

    S3 User Guide, "Event message structure": sequencers differ in length; right-pad the shorter with zeros, then
    compare lexicographically. They order the events of one key only: across a dataset's keys, the highest is the
    latest write S3 reported as far as sequencers tell, kept for the lineage, never for a decision.
    """
    if not sequencer or any(character not in "0123456789abcdefABCDEF" for character in sequencer):
        return None
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0")
