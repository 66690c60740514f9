"""The Price List's GetProducts on the emulator answers from the recorded prices, with
every filter applied as AWS applies TERM_MATCH."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def pricing(endpoint: str):
    return boto3.client("pricing", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def term(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def test_a_node_type_per_engine_and_region(pricing) -> None:
    answer = pricing.get_products(ServiceCode="AmazonElastiCache", FormatVersion="aws_v1", Filters=[
        term("regionCode", "eu-west-1"), term("productFamily", "Cache Instance"),
        term("instanceType", "cache.r7g.large"), term("cacheEngine", "Valkey")])
    products = [json.loads(p) for p in answer["PriceList"]]
    usage = sorted(p["product"]["attributes"]["usagetype"] for p in products)
    assert usage == ["EU-NodeUsage:cache.r7g.large", "EU-SyncDurability-NodeUsage:cache.r7g.large"]
    node = next(p for p in products if p["product"]["attributes"]["usagetype"].startswith("EU-Node"))
    (term_,) = node["terms"]["OnDemand"].values()
    (dimension,) = term_["priceDimensions"].values()
    assert dimension["pricePerUnit"]["USD"].startswith("0.1944")


def test_field_names_ignore_case_and_unknown_products_are_empty(pricing) -> None:
    answer = pricing.get_products(ServiceCode="awskms", Filters=[term("REGIONCODE", "us-east-1")])
    assert len(answer["PriceList"]) == 1
    none = pricing.get_products(ServiceCode="AmazonElastiCache", Filters=[term("regionCode", "xx-east-9")])
    assert none["PriceList"] == []


def test_other_operations_are_refused_by_name(pricing) -> None:
    with pytest.raises(ClientError) as refused:
        pricing.describe_services(ServiceCode="AmazonElastiCache")
    assert refused.value.response["Error"]["Code"] == "UnknownOperationException"
