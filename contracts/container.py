"""The mock in a Docker container, started with docker-py: what the ``epilot_mock_container`` fixture runs.

``run_container()`` starts the image (``make image`` builds ``epilot-mock:latest``), waits until
``/__admin/health`` answers, yields a handle with the base URL, and removes the container
afterwards, whatever happened (Testcontainers-style). It never pulls: the image must be there.

On an engine with a default bridge network the container's port 8080 is published on a free
loopback port. On an engine without one (dockerd ``--bridge=none``, as on the CI machines) the
container shares the host's network and listens on a free loopback port itself.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .serving import free_port

DEFAULT_IMAGE = "epilot-mock:latest"
IMAGE_PORT = 8080
LABEL = "io.epilot-mock.fixture"
STATE_DIR = "/state"  # where a state file's directory is mounted in the container


class DockerUnavailable(RuntimeError):
    """No Docker engine answers, or the image is not there: the caller may skip rather than fail."""


class ContainerFailed(RuntimeError):
    """The container stopped, or did not become healthy in time; the message ends with its logs."""


@dataclass
class ContainerHandle:
    url: str  # http://127.0.0.1:PORT
    port: int
    image: str
    container: Any  # docker.models.containers.Container

    def logs(self) -> str:
        return self.container.logs().decode("utf-8", "replace")


def docker_client(image: str | None = DEFAULT_IMAGE) -> Any:
    """A docker-py client whose engine answers and has ``image`` (unless ``image`` is None)."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - a dependency of epilot-mock
        raise DockerUnavailable(f"the docker package is not installed ({exc})") from None
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:
        raise DockerUnavailable(f"no Docker engine reachable ({exc})") from None
    if image is not None:
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            raise DockerUnavailable(f"the image {image} is not there: build it with `make image`") from None
    return client


def _has_bridge(client: Any) -> bool:
    return bool(client.networks.list(names=["bridge"]))


def serve_command(*, host: str, port: int, specs: Sequence[str] = (), seed: int = 0, state: str | None = None,
                  auth: str | None = None, scenarios: Sequence[str] = (), args: Sequence[str] = ()) -> list[str]:
    command = ["epilot-mock", "serve", "--host", host, "--port", str(port), "--seed", str(seed)]
    for spec in specs:
        command += ["--spec", spec]
    if state:
        command += ["--state", state]
    if auth:
        command += ["--auth", auth]
    for scenario in scenarios:
        command += ["--scenario", scenario]
    return command + list(args)


@contextlib.contextmanager
def run_container(image: str = DEFAULT_IMAGE, *, specs: Sequence[str] | None = None, seed: int = 0,
                  state: str | os.PathLike[str] | None = None, auth: str | None = None,
                  scenarios: Sequence[str] | None = None, args: Sequence[str] = (),
                  env: dict[str, str] | None = None, network: str | None = None, timeout: float = 60.0,
                  client: Any = None) -> Iterator[ContainerHandle]:
    """Run ``image`` until the block ends; yields once the server answers ``/__admin/health``.

    ``specs``, ``seed``, ``auth`` and ``scenarios`` are ``epilot-mock serve``'s options; ``args``
    adds any others. ``state`` is a SQLite file on this machine: its directory is mounted into the
    container and the server runs as your user, so the world survives the container (and a second
    container started on the same file serves it). ``network="host"`` forces the host's network.
    """
    client = client or docker_client(image)
    host_network = network == "host" or (network is None and not _has_bridge(client))
    port = free_port() if host_network else IMAGE_PORT
    listen = "127.0.0.1" if host_network else "0.0.0.0"
    state_arg = None
    run: dict[str, Any] = {"detach": True, "labels": {LABEL: "1"}}
    if state is not None:
        path = Path(state).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        run["volumes"] = {str(path.parent): {"bind": STATE_DIR, "mode": "rw"}}
        if hasattr(os, "getuid"):
            run["user"] = f"{os.getuid()}:{os.getgid()}"
        state_arg = f"{STATE_DIR}/{path.name}"
    if host_network:
        run["network_mode"] = "host"
    else:
        run["ports"] = {f"{IMAGE_PORT}/tcp": ("127.0.0.1", None)}
    command = serve_command(host=listen, port=port, specs=specs or (), seed=seed, state=state_arg, auth=auth,
                            scenarios=scenarios or (), args=args)
    environment = {"EPILOT_MOCK_HOST": listen, "EPILOT_MOCK_PORT": str(port), **(env or {})}
    container = client.containers.run(image, command, environment=environment, **run)
    try:
        if not host_network:
            port = _published_port(container, timeout)
        handle = ContainerHandle(f"http://127.0.0.1:{port}", port, image, container)
        _wait_healthy(handle, timeout)
        yield handle
    finally:
        with contextlib.suppress(Exception):
            container.stop(timeout=10)  # a clean shutdown: a state file keeps every acknowledged write
        with contextlib.suppress(Exception):
            container.remove(force=True)


def _published_port(container: Any, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        bindings = (container.ports or {}).get(f"{IMAGE_PORT}/tcp") or []
        if bindings:
            return int(bindings[0]["HostPort"])
        _check_running(container)
        if time.monotonic() > deadline:
            raise ContainerFailed(f"the container's port {IMAGE_PORT} was not published" + _tail(container))
        time.sleep(0.1)


def _wait_healthy(handle: ContainerHandle, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as http:
        while True:
            try:
                if http.get(handle.url + "/__admin/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            _check_running(handle.container)
            if time.monotonic() > deadline:
                raise ContainerFailed(f"{handle.image} did not answer {handle.url}/__admin/health within "
                                      f"{timeout:.0f}s" + _tail(handle.container))
            time.sleep(0.2)


def _check_running(container: Any) -> None:
    container.reload()
    if container.status in ("exited", "dead"):
        code = container.attrs.get("State", {}).get("ExitCode")
        raise ContainerFailed(f"the container stopped (exit code {code})" + _tail(container))


def _tail(container: Any, lines: int = 20) -> str:
    try:
        text = container.logs(tail=lines).decode("utf-8", "replace").rstrip()
    except Exception:
        return ""
    return "; its logs end with:\n" + text if text else ""
