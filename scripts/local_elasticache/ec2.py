"""One EC2 fix in moto 5.2.5: a security group rule from another group is matched with
its description, so revoking it as `DescribeSecurityGroups` lists it (AWS matches by
protocol, ports and source only) fails with InvalidPermission.NotFound whenever the
rule was authorized with a description.
"""

from __future__ import annotations

from typing import Any


def _without_description(source: Any) -> Any:
    if isinstance(source, dict):
        return {k: v for k, v in source.items() if k != "Description"}
    return source


def rule_eq(self: Any, other: Any) -> bool:
    """moto's `SecurityGroupRule.__eq__`, with source groups compared without their
    descriptions."""
    if not isinstance(other, type(self)):
        return NotImplemented
    own, theirs = self.source_group, other.source_group
    try:
        self.source_group = _without_description(own)
        other.source_group = _without_description(theirs)
        return _moto_rule_eq(self, other)
    finally:
        self.source_group, other.source_group = own, theirs


_moto_rule_eq: Any = None


def install() -> None:
    """Puts the fix into moto's EC2 models (once)."""
    global _moto_rule_eq
    from moto.ec2.models.security_groups import SecurityGroupRule

    if _moto_rule_eq is None:
        _moto_rule_eq = SecurityGroupRule.__eq__
        SecurityGroupRule.__eq__ = rule_eq
