"""The Secrets Manager fixes: ListSecretVersionIds reports when each version was made,
and a read without a stage follows AWSCURRENT when it moves."""

from __future__ import annotations

import time

import boto3


def client(endpoint: str):
    return boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
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
