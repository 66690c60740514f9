"""Local ElastiCache: the pinned moto's ElastiCache service with its gaps closed and a
real `redis-server` behind every replication group.

Owns: the extra ElastiCache actions and behaviour (models.py, responses.py), the
servers (servers.py), the family parameter tables (parameters.py), and loading all of
it into moto's server (`install`), and the one Secrets Manager fix credential rotation
depends on (secretsmanager.py: each version's own CreatedDate, enabling rotation
without running the function), matching group rules without their descriptions
(ec2.py), and the Price List's GetProducts from recorded prices (pricing.py). Does not own moto
itself (pinned below; an upgrade is a conscious step), the TLS files
(scripts/emulator.sh makes them), or the rest of any other AWS service.

Run it as `python -m local_elasticache -H 127.0.0.1 -p 5000` with this folder's parent
on PYTHONPATH; scripts/emulator.sh does.
"""

PINNED_MOTO_VERSION = "5.2.5"


class WrongMoto(RuntimeError):
    pass


def install() -> None:
    """Replaces moto's ElastiCache backend and handlers with ours. Call before the
    server answers its first request."""
    import moto

    if moto.__version__ != PINNED_MOTO_VERSION:
        raise WrongMoto(
            f"local_elasticache extends moto {PINNED_MOTO_VERSION}, found {moto.__version__}: "
            "re-check every override against the new moto before changing the pin"
        )
    from moto.elasticache import models as moto_models

    from . import ec2, pricing, secretsmanager
    from .models import LocalElastiCacheBackend

    # moto then serves ElastiCache from our backend and, beside it, our urls.py.
    moto_models.elasticache_backends.backend = LocalElastiCacheBackend
    secretsmanager.install()
    ec2.install()
    pricing.install()


def stop_all_servers() -> None:
    """Stops the servers of every account and region at once."""
    from moto.elasticache.models import elasticache_backends

    from .servers import stop

    servers = []
    for account in list(elasticache_backends.values()):
        for backend in list(account.values()):
            servers += list(getattr(backend, "servers", {}).values())
            getattr(backend, "servers", {}).clear()
    stop(servers)
