"""Registers the built-in routing strategies."""

from ..hookspecs import hookimpl
from .cascade import CascadeRouter
from .fallback import FallbackRouter
from .least_latency import LeastLatencyRouter
from .loadbalance import LoadBalanceRouter


@hookimpl
def register_routers(register):
    register("fallback", FallbackRouter)
    register("loadbalance", LoadBalanceRouter)
    register("least-latency", LeastLatencyRouter)
    register("cascade", CascadeRouter)
