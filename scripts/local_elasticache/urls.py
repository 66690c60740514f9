"""ElastiCache's URLs, answered by Local ElastiCache's handlers (moto finds a backend's
URLs in the `urls` module beside its models)."""

from moto.elasticache.urls import url_bases

from .responses import LocalElastiCacheResponse

__all__ = ["url_bases", "url_paths"]

url_paths = {
    "{0}/$": LocalElastiCacheResponse.dispatch,
}
