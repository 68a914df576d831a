"""The SageMaker Model Card of each deployed version: owner, intended uses and limitations, lineage, evaluation and
bias metrics, approval and deployments, written after each successful deployment (deploy.asl.json DocumentModel).

The card's name derives from the package ARN and its content only from recorded facts, so a retried or repeated
task writes the same content and leaves the card as it is (`unchanged`); a deployment to a further stage adds
a card version. Content keys follow SageMaker's model card JSON schema
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-cards.html#model-cards-json-schema).
"""

from typing import Any, Literal

from controlplane.clock import iso
from controlplane.config import ControlPlaneConfig, ModelConfig
from controlplane.deploy import NOT_DOCUMENTED, DeployPlan, bias_values, documentation, metric_value
from controlplane.naming import model_card_name
from controlplane.ports import DeploymentLedger, ModelCards, PackageInfo, Registry, StageDeployment
from controlplane.schema import StrictModel


class CardOutcome(StrictModel):
    name: str
    outcome: Literal["created", "updated", "unchanged"]


def card_content(
    model: ModelConfig,
    package: PackageInfo,
    quality: dict[str, Any] | None,
    bias_reports: list[dict[str, Any]],
    deployments: list[StageDeployment],
    documented: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The card: `documented` (deploy.documentation) keeps what a person wrote into the card itself."""
    documented = documented if documented is not None else documentation(package, None)
    thresholds = model.deployment.gate.thresholds if model.deployment else ()
    quality_metrics = [
        {"name": threshold.metric, "type": "number", "value": value}
        for threshold in thresholds
        if (value := metric_value(quality, threshold.metric)) is not None
    ]
    bias_metrics = [
        {"name": f"{where} {name}", "type": "number", "value": value}
        for where, _, name, value in bias_values(bias_reports)
    ]
    owner = f"{model.owner.team} <{model.owner.contact}>" if model.owner else "(no owner configured)"
    custom = {
        "model_package_arn": package.arn,
        "approved_by": package.approved_by or "(unknown)",
        "approval_description": package.approval_description or "",
        "assumptions": documented.get("assumptions", ""),
        "maturity": str(model.maturity or "unset"),
        **{
            f"deployment_{deployment.stage}": f"{deployment.status} at {iso(deployment.deployed_at)} on "
            f"{deployment.endpoint} ({deployment.endpoint_config})"
            for deployment in deployments
        },
    }
    return {
        "model_overview": {
            "model_description": f"Version {package.version} of '{model.name}' ({package.group})",
            "model_owner": owner,
            "model_creator": package.generated_by or "(not recorded)",
            "model_version": float(package.version),
        },
        "intended_uses": {"intended_uses": documented.get("intended_uses", NOT_DOCUMENTED)},
        "training_details": {
            "training_observations": f"Produced by pipeline execution {package.generated_by or '(not recorded)'}"
        },
        "evaluation_details": [
            {
                "name": "registered metrics",
                "metric_groups": [
                    group
                    for group in (
                        {"name": "model quality", "metric_data": quality_metrics},
                        {"name": "bias", "metric_data": bias_metrics},
                    )
                    if group["metric_data"]
                ],
            }
        ],
        "additional_information": {
            "caveats_and_recommendations": documented.get("limitations", NOT_DOCUMENTED),
            "custom_details": {key: value for key, value in custom.items() if value},
        },
    }


def document_model(
    plan: DeployPlan, config: ControlPlaneConfig, ledger: DeploymentLedger, registry: Registry, cards: ModelCards
) -> CardOutcome:
    """Create or update the deployed version's model card from the registry and the ledger."""
    model = config.model(plan.model)
    package = registry.describe_package(plan.package_arn)
    stages = model.deployment.stages if model.deployment else ()
    deployments = [
        deployment
        for stage in stages
        if (deployment := ledger.get_stage_deployment(plan.package_arn, stage.name)) is not None
    ]
    name = model_card_name(model.name, package.version, package.arn)
    documented = documentation(package, cards.content(name))
    content = card_content(
        model, package, registry.quality_metrics(package), registry.bias_reports(package), deployments, documented
    )
    return CardOutcome(name=name, outcome=cards.upsert(name, content))
