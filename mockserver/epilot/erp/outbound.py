"""Outbound core events: when the world changes, deliver the event to the webhooks of matching outbound
use cases, signed, with an ACK id, retried with exponential backoff, and tracked as delivery records;
or put it in the integration's poll queue (``delivery.type: poll``, see :mod:`.queue`).

Event names follow ``<Schema><Change>``: ``ContactUpdated``, ``ContractCreated``, ``MeterReadingCreated``.
A use case subscribes with ``event_catalog_event`` (an exact name, ``*``, or a ``Prefix*``), optionally
filtered by ``event_filter`` (JSONata on the event); each enabled webhook or poll mapping gets the event
transformed by its ``jsonata_expression`` (both evaluated in the JSONata sandbox). Deliveries go only to
the URLs configured in use cases, only where the engine's outbound policy allows (a refused delivery is
recorded as ``refused`` with its reason and never sent), and only through :func:`.forwarding.send`.
A delivery that fails every retry is dead-lettered: it shows in
the integration's dead-letter queue and can be redriven.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

from mockserver.engine.jsontext import dumps
from mockserver.engine.outbound import OutboundPolicy, OutboundRefused

from . import queue
from .forwarding import ForwardFailed, ForwardRefused, Resolver, send
from .jsonata import UNDEFINED, JsonataError, is_truthy
from .sandbox import JsonataLimitError, JsonataSandbox

log = logging.getLogger("epilot_mock.erp")
DELIVERY_KIND = "erp_delivery"
DEFAULT_SECRET = "epilot-mock-webhook-secret"
SIGNATURE_HEADER = "x-epilot-signature"
ACK_HEADER = "x-epilot-ack-id"


def event_name(change: dict[str, Any]) -> str:
    schema = str(change.get("schema", "entity"))
    camel = "".join(part.capitalize() for part in schema.split("_"))
    kind = str(change.get("type", "")).rsplit(".", 1)[-1]
    return camel + {"created": "Created", "updated": "Updated", "deleted": "Deleted"}.get(kind, kind.capitalize())


def subscribes(pattern: str, name: str) -> bool:
    if pattern in ("*", name):
        return True
    return pattern.endswith("*") and name.startswith(pattern[:-1])


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class OutboundDispatcher:
    """Listens to world changes and delivers them; one per app."""

    def __init__(self, world: Any, *, retries: int = 5, backoff: float = 0.5, timeout: float = 5.0,
                 sandbox: JsonataSandbox | None = None, policy: OutboundPolicy | None = None) -> None:
        self.world = world
        self.store = world.store
        self.retries = max(1, retries)
        self.backoff = backoff
        self.timeout = timeout
        self.sandbox = sandbox if sandbox is not None else JsonataSandbox()
        self.policy = policy if policy is not None else OutboundPolicy()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.resolver: Resolver | None = None  # tests inject one; None resolves through the system
        self._tail: asyncio.Task[Any] | None = None  # the latest change's evaluation: the next one waits for it

    # -- subscription ---------------------------------------------------------------------------

    def on_change(self, change: dict[str, Any]) -> None:
        """Find the use cases that subscribe; their JSONata (filter, mappings) runs in the sandbox, after
        the change, in a background task per change (in change order); without an event loop (a script
        driving the store) at once."""
        if change.get("source") == "erp-outbound":
            return
        name = event_name(change)
        targets = []
        for integration in self.store.record_list("erp_integration"):
            if change.get("integration_id") == integration["id"]:
                continue  # no echo: an integration is not told about the changes it made itself
            for use_case in self.store.record_list("erp_use_case", parent=integration["id"]):
                if use_case.get("type") != "outbound" or not use_case.get("enabled", True):
                    continue
                config = use_case.get("configuration") or {}
                if subscribes(str(config.get("event_catalog_event", "")), name):
                    targets.append((integration, use_case))
        if not targets:
            return
        core = self._core_event(change, name)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            for integration, use_case in targets:
                self._dispatch_one(integration, use_case, core, self._evaluate_sync)
            return
        previous = self._tail if self._tail is not None and not self._tail.done() \
            and self._tail.get_loop() is loop else None
        self._tail = self._spawn(loop, self._dispatch(targets, core, previous))

    def _spawn(self, loop: asyncio.AbstractEventLoop, work: Any) -> asyncio.Task[Any]:
        task = loop.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _dispatch(self, targets: list[tuple[dict[str, Any], dict[str, Any]]], core: dict[str, Any],
                        previous: asyncio.Task[Any] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        for integration, use_case in targets:
            expressions = self._expressions(use_case)
            results = {source: await self._evaluate(source, core) for source in expressions}
            self._dispatch_one(integration, use_case, core, functools.partial(_awaited, results))

    @staticmethod
    def _expressions(use_case: dict[str, Any]) -> list[str]:
        config = use_case.get("configuration") or {}
        found = [config["event_filter"]] if config.get("event_filter") else []
        found += [m["jsonata_expression"] for m in config.get("mappings") or []
                  if m.get("enabled", True) and m.get("jsonata_expression")]
        return list(dict.fromkeys(str(e) for e in found))

    async def _evaluate(self, source: str, data: Any) -> tuple[Any, JsonataError | None]:
        try:
            return await self.sandbox.evaluate(source, data), None
        except JsonataError as exc:
            return None, exc

    def _evaluate_sync(self, source: str, data: Any) -> tuple[Any, JsonataError | None]:
        try:
            return self.sandbox.evaluate_sync(source, data), None
        except JsonataError as exc:
            return None, exc

    def _dispatch_one(self, integration: dict[str, Any], use_case: dict[str, Any], core: dict[str, Any],
                      evaluated: Any) -> None:
        """Deliveries of one use case; ``evaluated(source, data)`` gives an expression's (value, error)."""

        config = use_case.get("configuration") or {}
        if config.get("event_filter"):
            value, error = evaluated(str(config["event_filter"]), core)
            if error is not None:
                self._filter_failed(integration, use_case, core, error)
                return
            if not is_truthy(value):
                return
        for mapping in config.get("mappings") or []:
            delivery = mapping.get("delivery") or {}
            if not mapping.get("enabled", True):
                continue
            transformed = self._transformed(mapping, core, evaluated)
            if delivery.get("type") == "webhook" and _allowed_url(delivery.get("webhook_url")):
                record = self._enqueue_only(integration, use_case, mapping, core, transformed)
                if not record["error"]:
                    self._schedule(record["id"])
            elif delivery.get("type") == "poll":
                body, error = transformed
                if error is None:
                    queue.enqueue(self.world, integration["id"], use_case, mapping, core, body)
                else:
                    log.warning("outbound mapping %s failed: %s", mapping.get("name"), error)

    def _filter_failed(self, integration: dict[str, Any], use_case: dict[str, Any], core: dict[str, Any],
                       exc: JsonataError) -> None:
        """An event filter that fails matches nothing; one stopped by a sandbox limit is also recorded."""
        log.warning("outbound event_filter failed: %s", exc)
        if isinstance(exc, JsonataLimitError):
            from .monitoring import record_monitoring

            record_monitoring(self.world, integration_id=integration["id"], event_id=core["event_id"],
                              use_case_id=use_case["id"], use_case_type="outbound", level="error",
                              code="FILTER_ERROR", message=f"event_filter: {exc.message}",
                              detail={"event_name": core["event_name"], "limit": exc.limit})

    def _core_event(self, change: dict[str, Any], name: str) -> dict[str, Any]:
        event: dict[str, Any] = {"event_id": self.world.new_id(), "event_name": name, "event_time": self.world.now(),
                                 "org_id": self.world.org_id, "source": change.get("source"),
                                 "operation": change.get("operation")}
        for key in ("entity", "reading", "meter"):
            if key in change:
                event[key] = change[key]
        return event

    # -- deliveries --------------------------------------------------------------------------------

    @staticmethod
    def _transformed(mapping: dict[str, Any], core: dict[str, Any], evaluated: Any) -> tuple[Any, str | None]:
        """The event as the mapping's JSONata expression makes it (the event itself without one)."""
        expression = mapping.get("jsonata_expression")
        if not expression:
            return core, None
        body, error = evaluated(str(expression), core)
        if error is not None:
            return None, str(error)
        return (None if body is UNDEFINED else body), None

    def _schedule(self, delivery_id: str, attempt: int = 0, delay: float = 0.0) -> None:
        """Attempt ``attempt`` of a delivery, now or after ``delay`` seconds of the app's clock (the
        app's scheduler runs it: tests and `--manual-time` users move time instead of sleeping)."""
        job = functools.partial(self.deliver, delivery_id, attempt)
        try:
            if delay > 0:
                self.world.scheduler.call_later(delay, job)
            else:
                self.world.scheduler.spawn(job)
        except RuntimeError:  # no event loop (a script driving the store directly): nothing is sent
            return

    def _headers(self, delivery: dict[str, Any], body: bytes) -> dict[str, str]:
        return {"content-type": "application/json",
                SIGNATURE_HEADER: sign(self.secret_for(delivery["integration_id"]), body),
                ACK_HEADER: delivery["ack_id"], "x-epilot-event-id": delivery["event_id"],
                "x-epilot-event-name": delivery["event_name"], "x-epilot-delivery-id": delivery["id"]}

    async def _attempt(self, delivery: dict[str, Any], body: bytes, number: int) -> tuple[dict[str, Any], Any]:
        """One delivery attempt: the outcome record and the response (None when none came)."""
        outcome: dict[str, Any] = {"at": self.world.now(), "attempt": number}
        try:
            response = await send("POST", delivery["url"], headers=self._headers(delivery, body), content=body,
                                  timeout=self.timeout, resolver=self.resolver, policy=self.policy)
        except (ForwardFailed, ForwardRefused) as exc:
            outcome["error"] = str(exc)[:300]
            return outcome, None
        outcome["status_code"] = response.status_code
        return outcome, response

    def secret_for(self, integration_id: str) -> str:
        values = self.store.record_get("erp_environment", integration_id) or {}
        return str(values.get("WEBHOOK_SECRET") or values.get("webhook_secret") or DEFAULT_SECRET)

    async def deliver(self, delivery_id: str, attempt: int = 0) -> None:
        """One attempt of a delivery (``attempt`` counts from 0 in this round); a failure schedules the
        next after the backoff, until the retries run out and it is dead-lettered."""
        delivery = self.store.record_get(DELIVERY_KIND, delivery_id)
        if delivery is None:
            return
        if attempt == 0:
            try:
                await self.policy.acheck(delivery["url"])
            except OutboundRefused as exc:  # recorded with its reason, never sent (nor retried)
                async with self.world.atomic():
                    delivery.update(status="refused", error=exc.reason)
                    self.store.record_put(DELIVERY_KIND, delivery_id, delivery, parent=delivery["integration_id"])
                    self._monitor(delivery, "error", "DELIVERY_REFUSED", f"not sent: {exc.reason}")
                log.warning("%s", exc)
                return
        number = len(delivery.get("attempts") or []) + 1
        outcome, response = await self._attempt(delivery, dumps(delivery["payload"]), number)
        ok = response is not None and 200 <= response.status_code < 300
        final = not ok and attempt >= self.retries - 1
        async with self.world.atomic():  # the delivery record may have been acknowledged meanwhile
            current = self.store.record_get(DELIVERY_KIND, delivery_id) or delivery
            current["attempts"] = [*current.get("attempts", []), outcome]
            if ok:
                if current["status"] != "acknowledged":
                    current["status"] = "delivered" if current.get("ack_tracking") else "processed"
            else:
                current["status"] = "failed" if final else "retrying"
            if final:
                now = self.world.now()
                current.update({"dead_lettered_at": now, "expires_at": queue.plus_days(now, 14),
                                "reason": f"gave up after {self.retries} delivery attempts"})
            self.store.record_put(DELIVERY_KIND, delivery_id, current, parent=current["integration_id"])
            if ok:
                self._monitor(current, "success", "DELIVERED", f"delivered to {current['url']}")
            elif final:
                self._monitor(current, "error", "DELIVERY_FAILED", f"gave up after {self.retries} attempts")
        if not ok and not final:
            self._schedule(delivery_id, attempt + 1, self.backoff * (2 ** attempt))

    def redrive(self, delivery: dict[str, Any]) -> None:
        """A dead-lettered webhook delivery gets a fresh round of attempts."""
        for key in ("dead_lettered_at", "expires_at", "reason"):
            delivery.pop(key, None)
        delivery.update({"status": "pending", "redriven_at": self.world.now()})
        self.store.record_put(DELIVERY_KIND, delivery["id"], delivery, parent=delivery["integration_id"])
        self._schedule(delivery["id"])

    async def trigger(self, integration: dict[str, Any], use_case: dict[str, Any], mapping: dict[str, Any],
                      entity: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """The ERP action of an automation: one signed delivery of the entity, answered with its outcome."""
        core = {"event_id": self.world.new_id(), "event_name": "ErpTrigger", "event_time": self.world.now(),
                "org_id": self.world.org_id, "source": "automation", "entity": entity, **context}
        results = {source: await self._evaluate(source, core)
                   for source in [mapping["jsonata_expression"]] if mapping.get("jsonata_expression")}
        transformed = self._transformed(mapping, core, lambda source, _data: results[source])
        delivery = self._enqueue_only(integration, use_case, mapping, core, transformed)
        started = self.world.now()
        if delivery["error"]:
            return {"status": "failed", "code": "MAPPING_FAILED", "message": delivery["error"], "start_date": started,
                    "end_date": self.world.now(), "event_id": core["event_id"]}
        outcome, response = await self._attempt(delivery, dumps(delivery["payload"]), 1)
        delivery["attempts"] = [outcome]
        ok = response is not None and 200 <= response.status_code < 300
        delivery["status"] = ("delivered" if delivery["ack_tracking"] else "processed") if ok else "failed"
        self.store.record_put(DELIVERY_KIND, delivery["id"], delivery, parent=integration["id"])
        self._monitor(delivery, "success" if ok else "error", "DELIVERED" if ok else "DELIVERY_FAILED",
                      f"automation {context.get('flow_name')}: " + (f"delivered to {delivery['url']}" if ok else
                                                                       outcome.get("error") or "webhook refused"))
        result: dict[str, Any] = {"status": "succeeded" if ok else "failed", "start_date": started,
                                  "end_date": self.world.now(), "event_id": core["event_id"]}
        if response is None:
            result.update({"code": "WEBHOOK_UNREACHABLE", "message": outcome["error"]})
            return result
        result.update({"status_code": str(response.status_code), "body": _json_object(response),
                       "message": f"delivered to {delivery['url']}" if ok else
                       f"the webhook answered {response.status_code}"})
        if not ok:
            result["code"] = "WEBHOOK_ERROR"
        return result

    def _enqueue_only(self, integration: dict[str, Any], use_case: dict[str, Any], mapping: dict[str, Any],
                      core: dict[str, Any], transformed: tuple[Any, str | None]) -> dict[str, Any]:
        body, error = transformed
        delivery = {
            "id": self.world.new_id(), "ack_id": self.world.new_id(), "integration_id": integration["id"],
            "use_case_id": use_case["id"], "mapping_id": mapping.get("id"), "event_id": core["event_id"],
            "event_name": core["event_name"], "url": mapping["delivery"]["webhook_url"],
            "ack_tracking": (use_case.get("configuration") or {}).get("ack_tracking", "on") == "on",
            "status": "failed" if error else "pending", "created_at": self.world.now(), "attempts": [],
            "payload": body, "acknowledged_at": None, "error": error,
            "webhook_id": mapping["delivery"].get("webhook_id"),
        }
        self.store.record_put(DELIVERY_KIND, delivery["id"], delivery, parent=integration["id"])
        return delivery

    def acknowledge(self, ack_id: str) -> dict[str, Any] | None:
        for delivery in self.store.record_list(DELIVERY_KIND):
            if delivery.get("ack_id") == ack_id:
                delivery["status"] = "acknowledged"
                delivery["acknowledged_at"] = self.world.now()
                self.store.record_put(DELIVERY_KIND, delivery["id"], delivery, parent=delivery["integration_id"])
                self._monitor(delivery, "success", "ACKNOWLEDGED", "the receiver acknowledged the event")
                return delivery
        return None

    def _monitor(self, delivery: dict[str, Any], level: str, code: str, message: str) -> None:
        from .monitoring import record_monitoring

        record_monitoring(self.world, integration_id=delivery["integration_id"], event_id=delivery["event_id"],
                          use_case_id=delivery["use_case_id"], use_case_type="outbound", level=level, code=code,
                          message=message, detail={"delivery_id": delivery["id"], "ack_id": delivery["ack_id"]})

    async def settle(self) -> None:
        """Wait until the changes made so far are evaluated and their deliveries recorded (not sent)."""
        tail = self._tail
        if tail is not None and not tail.done() and tail.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([tail])

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for evaluations and delivery attempts in flight (shutdown); scheduled retries stay
        scheduled."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
        await self.world.scheduler.drain(timeout=timeout)


def _awaited(results: dict[str, Any], source: str, _data: Any) -> tuple[Any, JsonataError | None]:
    return results[source]  # type: ignore[no-any-return]


def _json_object(response: Any) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {"text": response.text[:10_000]}
    return value if isinstance(value, dict) else {"data": value}


def _allowed_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
