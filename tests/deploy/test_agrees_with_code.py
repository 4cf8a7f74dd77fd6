"""The deployment files agree with the code: settings, port, probe and metrics routes, image, user.

Renaming a setting or a route in app/ fails here until the deployment files follow.
"""

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import __version__
from app.core.admission import body_cost
from app.main import create_app
from app.operations.config import WORKER_BASELINE_BYTES, Settings
from app.transports.http.routes import health
from tests.deploy.conftest import REPO, Manifest, find, kustomization_ids

# Read by KServe from the predictor's first container, not by the service (which ignores it).
READ_BY_KSERVE = {"PROTOCOL"}
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


def image_env() -> dict[str, str]:
    """The ENV variables the Dockerfile sets."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.startswith("ENV ")]
    return {name: value for line in lines for name, value in re.findall(r"(\w+)=(\S+)", line)}


def image_user() -> str:
    """The Dockerfile's USER, uid:gid."""
    (user,) = re.findall(r"^USER (\S+)$", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)
    return user


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The service with the shipped models loaded (gRPC off: its port is checked against the settings)."""
    with TestClient(create_app(Settings(grpc_port=0))) as client:
        yield client


def served_path(client: TestClient, endpoint: Callable[..., Any]) -> str:
    """The path the app serves `endpoint` on, checked to answer a GET with 200."""
    path = client.app.url_path_for(endpoint.__name__)  # type: ignore[attr-defined]
    assert client.get(path).status_code == 200, path
    return path


def pods(rendered: dict[str, list[Manifest]], inference_service: Manifest) -> dict[str, dict[str, Any]]:
    """Every pod spec the deployment files make, by kustomization (and "kserve")."""
    specs = {
        folder: find(manifests, "Deployment")["spec"]["template"]["spec"] for folder, manifests in rendered.items()
    }
    specs["kserve"] = inference_service["spec"]["predictor"]
    return specs


def container_env(pod: dict[str, Any], manifests: list[Manifest]) -> dict[str, str | None]:
    """The environment the pod's container gets: its ConfigMaps, then its env list (None: from a Secret)."""
    (container,) = pod["containers"]
    config_maps = {m["metadata"]["name"]: m["data"] for m in manifests if m["kind"] == "ConfigMap"}
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    env.update({variable["name"]: variable.get("value") for variable in container.get("env", [])})
    return env


def setting_values(env: dict[str, str | None]) -> dict[str, str]:
    """The settings `env` gives a literal value, by Settings field name."""
    return {key.lower(): value for key, value in env.items() if key in SETTING_NAMES and value is not None}


@pytest.fixture(scope="module")
def pod_envs(rendered: dict[str, list[Manifest]], inference_service: Manifest) -> dict[str, tuple[dict, dict]]:
    """Pod spec and container environment of every deployment file, by kustomization (and "kserve")."""
    manifests = {**rendered, "kserve": [inference_service]}
    return {name: (pod, container_env(pod, manifests[name])) for name, pod in pods(rendered, inference_service).items()}


POD_IDS = [*kustomization_ids(), "kserve"]
GRPC_PORT_NAMES = {"kserve": "h2c"}
"""The container port of gRPC, by pod (default "grpc"): KServe names it h2c."""


@pytest.mark.parametrize("name", POD_IDS)
def test_every_variable_is_a_setting_with_a_valid_value(pod_envs: dict[str, tuple[dict, dict]], name: str) -> None:
    _, env = pod_envs[name]
    unknown = set(env) - SETTING_NAMES - (READ_BY_KSERVE if name == "kserve" else set())
    assert not unknown, f"not settings of app/config.py: {sorted(unknown)}"
    Settings(**setting_values(env))
    assert "ORT_THREADS" not in env, "onnxruntime's threads must follow the CPU limit"


@pytest.mark.parametrize("name", POD_IDS)
def test_ports_and_probes_are_the_ones_the_service_serves(
    client: TestClient, pod_envs: dict[str, tuple[dict, dict]], name: str
) -> None:
    pod, env = pod_envs[name]
    (container,) = pod["containers"]
    settings = Settings(**setting_values({**image_env(), **env}))
    ports = {port.get("name"): port["containerPort"] for port in container["ports"]}
    assert list(ports.values()) == [settings.port, settings.grpc_port]  # REST first: KServe sends REST there
    assert ports[GRPC_PORT_NAMES.get(name, "grpc")] == settings.grpc_port
    endpoints = {"startup": health.readyz, "readiness": health.readyz, "liveness": health.healthz}
    for kind, endpoint in endpoints.items():
        probe = container[f"{kind}Probe"]
        if "grpc" in probe:  # grpc.health.v1 answers readiness (SERVING), so only the readiness probe may use it
            assert kind == "readiness" and probe["grpc"]["port"] == settings.grpc_port
            continue
        http = probe["httpGet"]
        assert ports.get(http["port"], http["port"]) == settings.port
        assert http["path"] == served_path(client, endpoint)


@pytest.mark.parametrize("name", POD_IDS)
def test_runs_the_image_of_this_version_as_its_user(pod_envs: dict[str, tuple[dict, dict]], name: str) -> None:
    pod, _ = pod_envs[name]
    (container,) = pod["containers"]
    assert container["image"].rsplit(":", 1)[1] == __version__
    security = pod["securityContext"]
    assert f"{security['runAsUser']}:{security['runAsGroup']}" == image_user()


@pytest.mark.parametrize("name", POD_IDS)
def test_grace_period_outlasts_the_graceful_shutdown(pod_envs: dict[str, tuple[dict, dict]], name: str) -> None:
    pod, env = pod_envs[name]
    (container,) = pod["containers"]
    sleep, seconds = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep == "sleep"
    shutdown_timeout_s = Settings(**setting_values(env)).shutdown_timeout_s
    assert pod["terminationGracePeriodSeconds"] > int(seconds) + shutdown_timeout_s


def test_service_monitor_scrapes_the_metrics_route(client: TestClient, rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["overlays/production"]
    service_ports = {port["name"] for port in find(manifests, "Service")["spec"]["ports"]}
    (endpoint,) = find(manifests, "ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["path"] == served_path(client, health.metrics)
    assert endpoint["port"] in service_ports


QUANTITY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("384Mi") in bytes."""
    for suffix, factor in QUANTITY_UNITS.items():
        if quantity.endswith(suffix):
            return int(quantity.removesuffix(suffix)) * factor
    return int(quantity)


@pytest.mark.parametrize("name", POD_IDS)
def test_memory_limit_holds_the_workers_and_their_budgets(pod_envs: dict[str, tuple[dict, dict]], name: str) -> None:
    """Each worker's derived budget takes the largest body the limits allow, and the workers, their budgets,
    baselines and work pools, and the memory-backed volumes together stay within the container's limit."""
    pod, env = pod_envs[name]
    (container,) = pod["containers"]
    resources = container["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"], "a pod is killed past its request"
    limit = quantity_bytes(resources["limits"]["memory"])
    settings = Settings(**setting_values({**image_env(), **env}))
    assert settings.memory_budget_bytes is None, "the budget follows the memory limit"
    pool_threads = max(1, math.ceil(float(resources["limits"]["cpu"])) // settings.workers)
    budget = settings.memory_budget_for(limit, pool_threads)
    largest = settings.max_header_bytes + body_cost(settings.max_instances, settings.max_body_bytes).of(
        settings.max_body_bytes, compressed=True
    )
    assert budget >= largest, f"a {settings.max_body_bytes}-byte body would always be 413 in {budget} bytes"
    per_worker = budget + WORKER_BASELINE_BYTES + settings.pool_working_bytes(pool_threads)
    volumes = sum(
        quantity_bytes(volume["emptyDir"].get("sizeLimit", "0"))
        for volume in pod["volumes"]
        if volume.get("emptyDir", {}).get("medium") == "Memory"
    )
    assert settings.workers * per_worker + volumes <= limit
