"""The epilot plugin: epilot's four APIs, the seeded world behind them, and the demo users.

Registered as the entry point ``epilot`` of ``epilot_mock.plugins``; the engine calls
``install(builder)`` at start-up.
"""

from __future__ import annotations

from mockserver.engine.auth import Principal
from mockserver.engine.plugin import Builder, Plugin, PluginOption

from .bundled import bundled_apis, scenarios_dir
from .fakes import PRODUCERS

ORG_ID = "739224"
DEMO_ORG_TOKEN = "demo-org-token"
DEMO_PORTAL_TOKEN = "demo-portal-token"

OPTIONS = (
    PluginOption("world_size", "small", "World size: small, medium, large, or counts like customers=500.",
                 metavar="SIZE"),
    PluginOption("webhook_retries", 5, "Retries of a failed outbound webhook delivery.", type=int),
    PluginOption("webhook_backoff", 0.5, "Seconds before the first retry; doubles with each retry.", type=float),
    PluginOption("jsonata_timeout", 1.0, "Time limit of one JSONata evaluation (a mapping of one event), in seconds.",
                 type=float, metavar="SECONDS"),
    PluginOption("jsonata_memory", 256, "Memory limit of the JSONata sandbox's worker processes, in MB.",
                 type=int, metavar="MB"),
    PluginOption("jsonata_workers", 2, "Worker processes of the JSONata sandbox.", type=int, metavar="N"),
)


def install(builder: Builder) -> None:
    builder.token(DEMO_ORG_TOKEN, Principal("org", "demo-org-user", "Demo organization user", {"org_id": ORG_ID}),
                  default=True)
    builder.value_producers(PRODUCERS)
    if not builder.config.behaviours or not any(builder.mounts(api) for api in plugin.apis):
        # Stateless: the demo customer's token still works, with no world behind it.
        builder.token(DEMO_PORTAL_TOKEN, Principal("portal_user", "demo-portal-user", "Demo portal customer",
                                                   {"org_id": ORG_ID}))
        return
    from .behaviours import load_sets
    from .world.extension import install_world

    world = install_world(builder)
    from .behaviours.entity.activity import subscribe

    subscribe(world)  # every change, through any API, leaves an activity in the entity's feed
    for bset in load_sets():
        builder.behaviours(bset)


plugin = Plugin(name="epilot", install=install, apis=bundled_apis(), scenarios=scenarios_dir(), options=OPTIONS)
