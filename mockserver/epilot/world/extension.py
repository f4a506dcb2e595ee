"""Installs the epilot world into an app: the store, the seeded tenant, demo logins, admin hooks.

The world generator only produces data; this module loads it into the store once (or finds it
there, with ``--state``), registers the demo tokens, and wires reset, snapshots and health through
the plugin builder.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.engine.auth import Principal, TokenRegistry
from mockserver.engine.clock import Clock
from mockserver.engine.config import StartupError
from mockserver.engine.loader import cache_dir
from mockserver.engine.outbound import OutboundPolicy
from mockserver.engine.plugin import Builder
from mockserver.engine.scheduler import Scheduler
from mockserver.engine.store.base import SNAPSHOT_VERSION, Store, StoreOpenError

if TYPE_CHECKING:
    from starlette.requests import Request

    from mockserver.engine.services import Services

    from ..erp.outbound import OutboundDispatcher
    from ..erp.sandbox import JsonataSandbox

log = logging.getLogger("epilot_mock.world")
LOGIN_KIND = "portal_login"  # records: tokens of portal users (demo and minted), survive restarts


class WorldServices:
    """What behaviours use to reach the tenant: the store, ids, the clock, logins and change hooks."""

    def __init__(self, tokens: TokenRegistry, store: Store, org_id: str, seed: int, clock: Clock,
                 *, webhook_retries: int = 5, webhook_backoff: float = 0.5) -> None:
        self.tokens = tokens
        self.store = store
        self.org_id = org_id
        self.seed = seed
        self.clock = clock
        self.webhook_retries = webhook_retries
        self.webhook_backoff = webhook_backoff
        self._ids = random.Random(f"epilot-mock-ids:{seed}")
        self.deterministic_ids = True
        self.listeners: list[Any] = []  # called as listener(event: dict) after a committed change
        self.outbound: OutboundDispatcher | None = None  # created when an integration first needs it
        self.jsonata: JsonataSandbox  # where every JSONata evaluation runs (set by install_world)
        self.outbound_policy: OutboundPolicy | None = None  # where webhooks may go (the engine's policy)
        self.scheduler = Scheduler(clock)  # the app's (install_world sets it): retries wait on it
        self.atomic: Callable[[], AbstractAsyncContextManager[None]] = _no_lock  # the app's write lock
        # Per-app caches keyed by the store version (see behaviours/common.py).
        self.visible_cache: dict[Any, Any] = {}
        self.page_cache: dict[Any, Any] = {}

    def new_id(self) -> str:
        if not self.deterministic_ids:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def restart_ids(self) -> None:
        self._ids = random.Random(f"epilot-mock-ids:{self.seed}")

    def now(self) -> str:
        return self.clock.iso()

    def emit(self, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not fail the request that caused the change
                log.exception("change listener failed for %s", event.get("type"))

    # -- logins -------------------------------------------------------------------------------

    def register_login(self, token: str, portal_user_id: str, contact_id: str | None, email: str, name: str,
                       portal_id: str | None = None, *, persist: bool = True) -> None:
        claims = {"contact_id": contact_id, "email": email, "portal_id": portal_id, "org_id": self.org_id}
        self.tokens.add(token, Principal("portal_user", portal_user_id, name, claims))
        if persist:
            self.store.record_put(LOGIN_KIND, token, {"token": token, "portal_user_id": portal_user_id,
                                                      "contact_id": contact_id, "email": email, "name": name,
                                                      "portal_id": portal_id})

    def mint_login(self, portal_user: dict[str, Any]) -> str:
        token = f"portal-{self.new_id()}"
        contact = next(iter(_relation_ids(portal_user.get("contact"))), None)
        self.register_login(token, portal_user["_id"], contact, portal_user.get("email", ""),
                            portal_user.get("_title", ""), portal_user.get("portal_id"))
        return token

    def login_for(self, token: str) -> Principal | None:
        login = self.store.record_get(LOGIN_KIND, token)
        if login is None:
            return None
        claims = {"contact_id": login.get("contact_id"), "email": login.get("email"),
                  "portal_id": login.get("portal_id"), "org_id": self.org_id}
        return Principal("portal_user", login["portal_user_id"], login.get("name", ""), claims)

    def reload_logins(self) -> None:
        tokens = self.tokens
        for item in tokens.listing():
            if item["kind"] == "portal_user":
                tokens.remove(item["token"])
        for login in self.store.record_list(LOGIN_KIND):
            self.register_login(login["token"], login["portal_user_id"], login.get("contact_id"), login["email"],
                                login["name"], login.get("portal_id"), persist=False)


@asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield


def _relation_ids(value: Any) -> list[str]:
    if isinstance(value, dict) and isinstance(value.get("$relation"), list):
        return [i["entity_id"] for i in value["$relation"] if isinstance(i, dict) and "entity_id" in i]
    return []


def _world_cache(seed: int, size: str) -> Path:
    """Where a seeded world is cached, keyed by seed, size, the generator's own source, the pricing
    engine's (it prices the world's orders) and the version of Faker it draws from (another Faker,
    another world)."""
    try:
        faker_version = version("faker")
    except PackageNotFoundError:  # pragma: no cover - faker is a dependency
        faker_version = "?"
    digest = hashlib.sha1(f"{seed}|{size}|{SNAPSHOT_VERSION}|faker={faker_version}".encode())
    here = Path(__file__).parent
    for source in [*sorted(here.glob("*.py")), *sorted((here.parent / "pricing").glob("*.py"))]:
        digest.update(source.read_bytes())
    return cache_dir() / f"world-{digest.hexdigest()[:20]}.sqlite"


def seed_store(store: Store, seed: int, size_text: str) -> None:
    """Fill an empty store with the world for ``seed``/``size``: from the cache, or generated (then
    cached). A shared store (a state file, PostgreSQL) is seeded once: the check and the load run in
    one write transaction, so replicas starting together leave one world."""
    from .sizes import parse_world_size

    try:
        size = parse_world_size(size_text)
    except ValueError as exc:
        raise StartupError(f"--world-size: {exc}") from None
    if store.meta_get("world") is not None:
        return  # a shared store that already holds its world
    cached = _world_cache(seed, size_text)
    if cached.is_file():
        if not store.shared:
            store.copy_from(str(cached))  # SQLite's backup API: no transaction around it
            return
        with store.transaction():
            if store.meta_get("world") is None:
                store.copy_from(str(cached))
        return
    from .generator import generate_world  # only now: Faker and the generator are slow to import

    started = time.perf_counter()
    world = generate_world(seed, size)
    with store.transaction():
        if store.meta_get("world") is None:  # another worker or replica may have seeded it meanwhile
            _load(store, world)
            store.meta_set("world", f"seed={seed};size={size_text}")
            store.meta_set("org_id", world.org_id)
    log.info("seeded world seed=%s size=%s: %d entities in %.2fs", seed, size_text, store.count(),
             time.perf_counter() - started)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        store.save_to(str(cached))
    except OSError:
        pass


# Attributes that identify entities: indexed so unique-id lookups stay fast on large worlds.
INDEXED_ATTRIBUTES = ("customer_number", "contract_number", "meter_number", "order_number",
                      "billing_account_number", "ma_lo_id", "obis_number", "external_id", "email_address")


def install_world(builder: Builder) -> WorldServices:
    config = builder.config
    try:
        store = builder.store()
    except StoreOpenError as exc:
        raise StartupError(f"--state {exc}") from None
    for attribute in INDEXED_ATTRIBUTES:
        store.ensure_index(attribute)
    world_size = str(builder.option("world_size"))
    wanted = f"seed={config.seed};size={world_size}"
    seeded = store.meta_get("world")
    if seeded is None:
        seed_store(store, config.seed, world_size)
    elif seeded != wanted:
        log.warning("state %s holds world '%s'; keeping it (asked for '%s')", store.describe(), seeded, wanted)
    org_id = store.meta_get("org_id") or "739224"
    store.checkpoint()
    world = WorldServices(builder.services.tokens, store, org_id, config.seed, builder.clock,
                          webhook_retries=int(builder.option("webhook_retries")),
                          webhook_backoff=float(builder.option("webhook_backoff")))
    world.deterministic_ids = not store.shared  # replicas must not draw the same ids
    world.reload_logins()
    from ..erp.sandbox import JsonataSandbox

    world.jsonata = JsonataSandbox(timeout=float(builder.option("jsonata_timeout")),
                                   memory_mb=int(builder.option("jsonata_memory")),
                                   workers=int(builder.option("jsonata_workers")))
    builder.on_shutdown(world.jsonata.aclose)
    world.outbound_policy = builder.services.outbound
    world.scheduler = builder.scheduler
    world.atomic = builder.services.atomic
    builder.provide(WorldServices, world)
    builder.token_fallback(world.login_for)

    def reset() -> None:
        store.reset()
        world.restart_ids()
        world.reload_logins()

    builder.on_reset(reset)

    def load(data: dict[str, Any]) -> dict[str, int]:
        counts = store.load(data)
        world.reload_logins()
        return counts

    builder.snapshot(store.export, load)
    builder.variable("org_id", lambda: org_id)
    builder.health("world", lambda: {
        "org_id": org_id, "entities": store.count(), "by_schema": store.counts_by_schema(),
        "state": store.describe()})

    def outbound(change: dict[str, Any]) -> None:
        # Nothing subscribes until an integration exists: skip loading the JSONata machinery till then.
        if world.outbound is None and not store.record_count("erp_integration"):
            return
        outbound_dispatcher(world).on_change(change)

    world.listeners.append(outbound)
    builder.admin_route("GET", "/deliveries", _admin_deliveries)
    builder.admin_route("GET", "/outbox", _admin_outbox)
    builder.admin_route("GET", "/erp/environments", _admin_get_environment)
    builder.admin_route("PUT", "/erp/environments", _admin_put_environment)
    builder.admin_route("PUT", "/erp/files", _admin_put_file)
    builder.admin_route("GET", "/erp/files", _admin_list_files)

    async def close() -> None:
        if world.outbound is not None:
            await world.outbound.drain(timeout=2.0)

    builder.on_shutdown(close)
    return world


def world_of(services: Services) -> WorldServices:
    return services.get(WorldServices)


def outbound_dispatcher(source: WorldServices | Services) -> OutboundDispatcher:
    """The app's outbound event dispatcher (created on first use)."""
    world = source if isinstance(source, WorldServices) else world_of(source)
    if world.outbound is None:
        from ..erp.outbound import OutboundDispatcher

        world.outbound = OutboundDispatcher(world, retries=world.webhook_retries, backoff=world.webhook_backoff,
                                            sandbox=world.jsonata, policy=world.outbound_policy)
    return world.outbound


def _admin_deliveries(request: Request, services: Services) -> dict[str, Any]:
    q = request.query_params
    items = world_of(services).store.record_list("erp_delivery", newest_first=True)
    for key in ("status", "ack_id", "integration_id", "event_name", "use_case_id"):
        if q.get(key):
            items = [d for d in items if d.get(key) == q[key]]
    return {"deliveries": items, "count": len(items)}


def _admin_outbox(request: Request, services: Services) -> dict[str, Any]:
    to = request.query_params.get("to")
    store = world_of(services).store
    mails = store.record_list("outbox", parent=to.lower() if to else None, newest_first=True)
    return {"messages": mails, "count": len(mails)}


def _admin_get_environment(request: Request, services: Services) -> dict[str, Any]:
    from mockserver.engine.admin_guard import mask_secrets, reveals_secrets

    integration_id = request.query_params.get("integration_id", "")
    values = world_of(services).store.record_get("erp_environment", integration_id) or {}
    shown = values if reveals_secrets(request.scope) else mask_secrets(values)
    return {"integration_id": integration_id, "values": shown}


async def _admin_put_environment(request: Request, services: Services) -> dict[str, Any]:
    from mockserver.engine.admin import AdminInputError
    from mockserver.engine.jsonbody import parse_json

    data, problem = parse_json(await request.body())
    integration_id = request.query_params.get("integration_id")
    if problem or not isinstance(data, dict) or not integration_id:
        raise AdminInputError(problem or "give ?integration_id=... and a JSON object of environment values")
    values = {str(k): str(v) for k, v in data.items()}
    world_of(services).store.record_put("erp_environment", integration_id, values)
    return {"integration_id": integration_id, "values": values}


async def _admin_put_file(request: Any, services: Any) -> dict[str, Any]:
    """The mock's S3 for ERP imports: the file under ``?bucket=&key=`` is the raw request body, or, sent as
    JSON, ``{"content": "...", "encoding": "utf-8" | "base64"}`` (what scenario steps can send)."""
    import base64
    import binascii

    from mockserver.engine.admin import AdminInputError
    from mockserver.engine.jsonbody import parse_json

    from ..erp.imports import store_file

    bucket, key = request.query_params.get("bucket"), request.query_params.get("key")
    if not bucket or not key:
        raise AdminInputError("give ?bucket=...&key=... and the file as the request body")
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        data, problem = parse_json(raw)
        if problem or not isinstance(data, dict) or not isinstance(data.get("content"), str):
            raise AdminInputError(problem or 'a JSON upload is {"content": "...", "encoding": "utf-8" | "base64"}')
        try:
            raw = base64.b64decode(data["content"], validate=True) if data.get("encoding") == "base64" else \
                data["content"].encode()
        except binascii.Error:
            raise AdminInputError("content is not valid base64") from None
    world = world_of(services)
    return store_file(world.store, bucket, key, raw, world.now())


def _admin_list_files(request: Any, services: Any) -> dict[str, Any]:
    from ..erp.imports import FILE_KIND

    files = [{k: v for k, v in f.items() if k != "content"}
             for f in world_of(services).store.record_list(FILE_KIND, newest_first=True)]
    return {"files": files, "count": len(files)}


# Availability rules of regional products (CSV as `$validateAvailabilityFile` reads it), by product code.
AVAILABILITY_RULES = {
    "STROM-REG-001": "postal_code,city,street,street_number,start_date,end_date\n50*,,,,,\n51*,,,,,\n",
    "WAERME-KOMFORT": "postal_code,city,street,street_number,start_date,end_date\n,Köln,,,,\n,München,,,,\n",
    "WALLBOX-INST": "postal_code,city,street,street_number,start_date,end_date\n,,,,2025-01-01,\n",
}


def _load(store: Any, world: Any) -> None:
    store.put_many(world.entities)
    for kind, items in world.records.items():
        store.record_put_many(kind, items)
    for entity in world.entities:
        rules = AVAILABILITY_RULES.get(entity.get("code", "")) if entity["_schema"] == "product" else None
        if rules:
            store.record_put("availability_file", entity["_id"], {"product_id": entity["_id"], "content": rules},
                             parent=entity["_id"])
    for login in world.portal_logins:
        name = getattr(login, "name", None) or getattr(login, "display_name", "")
        store.record_put(LOGIN_KIND, login.token, {
            "token": login.token, "portal_user_id": login.portal_user_id, "contact_id": login.contact_id,
            "email": login.email, "name": name, "portal_id": getattr(login, "portal_id", None)})
