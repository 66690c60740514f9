"""The Secrets Manager fix: ListSecretVersionIds reports when each version was made."""

from __future__ import annotations

import time

import boto3


def test_each_version_keeps_the_date_it_was_made(endpoint: str) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
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
