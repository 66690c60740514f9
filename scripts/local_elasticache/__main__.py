"""`python -m local_elasticache [moto_server options]`: moto's server with Local
ElastiCache installed. Servers it started stop with it (SIGTERM, SIGINT or exit)."""

import atexit
import logging
import sys

from moto import server

from . import install, stop_all_servers
from .servers import clear_leftovers


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install()
    clear_leftovers()
    atexit.register(stop_all_servers)
    server.main(sys.argv[1:])


if __name__ == "__main__":
    main()
