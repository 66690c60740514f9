"""The Secrets Manager fixes: ListSecretVersionIds reports when each version was made,
a read without a stage follows AWSCURRENT when it moves, and enabling rotation without
rotating now records the function and schedule."""

from __future__ import annotations

import io
import json
import time
import zipfile

import boto3


def client(endpoint: str, service: str = "secretsmanager"):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_each_version_keeps_the_date_it_was_made(endpoint: str) -> None:
    secrets = client(endpoint)
    secrets.create_secret(Name="dated", SecretString="one")
    time.sleep(1.1)
    secrets.put_secret_value(SecretId="dated", SecretString="two",
                             ClientRequestToken="b" * 32, VersionStages=["AWSPENDING"])

    def created() -> list:
        versions = secrets.list_secret_version_ids(SecretId="dated")["Versions"]
        return sorted(v["CreatedDate"] for v in versions)

    first = created()
    assert len(first) == 2 and first[0] < first[1]
    time.sleep(1.1)
    assert created() == first


def test_a_read_without_a_stage_follows_awscurrent_when_it_moves(endpoint: str) -> None:
    secrets = client(endpoint)
    first = secrets.create_secret(Name="moved", SecretString="one")["VersionId"]
    secrets.put_secret_value(SecretId="moved", SecretString="two",
                             ClientRequestToken="c" * 32, VersionStages=["AWSPENDING"])
    assert secrets.get_secret_value(SecretId="moved")["SecretString"] == "one"
    secrets.update_secret_version_stage(SecretId="moved", VersionStage="AWSCURRENT",
                                        MoveToVersionId="c" * 32, RemoveFromVersionId=first)
    assert secrets.get_secret_value(SecretId="moved")["SecretString"] == "two"
    previous = secrets.get_secret_value(SecretId="moved", VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "one"


def test_enabling_rotation_records_it_without_rotating(endpoint: str) -> None:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    role = client(endpoint, "iam").create_role(
        RoleName="rotator", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    function = client(endpoint, "lambda").create_function(
        FunctionName="rotator", Runtime="provided.al2023", Role=role, Handler="bootstrap",
        Code={"ZipFile": package.getvalue()})["FunctionArn"]
    secrets = client(endpoint)
    secrets.create_secret(Name="scheduled", SecretString="one")
    before = secrets.describe_secret(SecretId="scheduled")["VersionIdsToStages"]

    secrets.rotate_secret(SecretId="scheduled", RotationLambdaARN=function,
                          RotationRules={"ScheduleExpression": "rate(30 days)"},
                          RotateImmediately=False)

    described = secrets.describe_secret(SecretId="scheduled")
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"] == function
    assert described["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    assert described["VersionIdsToStages"] == before
    listed = [s for s in secrets.list_secrets()["SecretList"] if s["Name"] == "scheduled"]
    assert listed[0]["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
