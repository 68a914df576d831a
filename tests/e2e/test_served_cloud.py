"""The served local cloud over real HTTP: boto3 with endpoint_url starts the pipeline, the clock jumps on request,
the stack's outputs are found through CloudFormation, and SIGINT and SIGTERM stop it cleanly. Starting a served
cloud costs seconds of CPU (a Python process importing moto and deploying the template): one serves both the clock
and the dataset checks."""

import json
import signal
import urllib.error
import urllib.request

import boto3
import pytest

from tests.e2e.served import HANG_GUARD_SECONDS, LOCAL_CREDENTIALS, served_local_cloud


def _client(service: str, url: str):  # type: ignore[no-untyped-def]
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=url,
        region_name=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_a_dataset_put_over_http_trains_once_as_the_clock_is_advanced_and_bad_jumps_are_refused() -> None:
    with served_local_cloud(speed=0) as served:
        # The clock endpoints: refused jumps say how to ask, and move nothing.
        with urllib.request.urlopen(f"{served.url}/localcloud/clock", timeout=HANG_GUARD_SECONDS) as response:
            assert json.loads(response.read()) == {"now": "2026-11-27T09:00:00+00:00", "speed": 0.0}
        for query in ("seconds=-5", "seconds=soon", ""):
            request = urllib.request.Request(f"{served.url}/localcloud/advance?{query}", method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=HANG_GUARD_SECONDS)
            assert refused.value.code == 400
            assert "POST /localcloud/advance?seconds=N" in json.loads(refused.value.read())["error"]

        outputs = {
            output["OutputKey"]: output["OutputValue"]
            for output in _client("cloudformation", served.url).describe_stacks(StackName="mlops-local")["Stacks"][0][
                "Outputs"
            ]
        }
        s3 = _client("s3", served.url)
        s3.put_object(Bucket=outputs["DataBucket"], Key="datasets/churn/2026-11-27/part-0.parquet", Body=b"rows")
        s3.put_object(Bucket=outputs["DataBucket"], Key="datasets/churn/2026-11-27/_SUCCESS", Body=b"")
        assert served.advance(0) == "2026-11-27T09:00:00+00:00"  # speed 0: only requests move the clock
        sfn = _client("stepfunctions", served.url)
        running = sfn.list_executions(stateMachineArn=outputs["RetrainStateMachineArn"])["executions"]
        assert [execution["status"] for execution in running] == ["RUNNING"]

        assert served.advance(15 * 60) == "2026-11-27T09:15:00+00:00"
        ended = sfn.list_executions(stateMachineArn=outputs["RetrainStateMachineArn"])["executions"]
        assert [execution["status"] for execution in ended] == ["SUCCEEDED"]
        pipelines = _client("sagemaker", served.url).list_pipeline_executions(PipelineName="churn-training")
        assert [run["PipelineExecutionStatus"] for run in pipelines["PipelineExecutionSummaries"]] == ["Succeeded"]
        assert "RetrainStateMachine execution retrain-churn-churn-2026-11-27-" in served.log()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_served_cloud_cleanly(stop_signal: signal.Signals) -> None:
    with served_local_cloud(speed=60) as served:
        served.process.send_signal(stop_signal)
        assert served.process.wait(HANG_GUARD_SECONDS) == 0
        assert served.log().rstrip().endswith("localcloud stopped")
        assert "Traceback" not in served.log()
