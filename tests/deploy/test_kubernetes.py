"""What the deployment files promise: locked-down pods, autoscaling on CPU, room for disruptions."""

from typing import Any

import pytest

from tests.deploy.conftest import Manifest, find, kustomization_ids


def container_of(deployment: Manifest) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def with_port_numbers(probe: dict[str, Any], ports: dict[str, int]) -> dict[str, Any]:
    """The probe with a named port replaced by its number."""
    http = probe["httpGet"]
    return {**probe, "httpGet": {**http, "port": ports.get(http["port"], http["port"])}}


@pytest.mark.parametrize("folder", kustomization_ids())
def test_pods_run_locked_down(rendered: dict[str, list[Manifest]], folder: str) -> None:
    pod = find(rendered[folder], "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    (tmp,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]


@pytest.mark.parametrize("folder", kustomization_ids())
def test_cpu_requests_and_limits_drive_threads_and_autoscaling(
    rendered: dict[str, list[Manifest]], folder: str
) -> None:
    manifests = rendered[folder]
    deployment, hpa = find(manifests, "Deployment"), find(manifests, "HorizontalPodAutoscaler")
    resources = container_of(deployment)["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "digit-service"}
    assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"


@pytest.mark.parametrize("folder", kustomization_ids())
def test_service_and_budget_select_the_pods(rendered: dict[str, list[Manifest]], folder: str) -> None:
    manifests = rendered[folder]
    deployment = find(manifests, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service, budget = find(manifests, "Service"), find(manifests, "PodDisruptionBudget")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    port_names = {port["name"] for port in container_of(deployment)["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names
    assert budget["spec"]["maxUnavailable"] < find(manifests, "HorizontalPodAutoscaler")["spec"]["minReplicas"]


def test_production_runs_more_pods_spread_over_nodes_and_scraped(rendered: dict[str, list[Manifest]]) -> None:
    base, production = rendered["base"], rendered["overlays/production"]
    replicas = [find(m, "HorizontalPodAutoscaler")["spec"]["minReplicas"] for m in (base, production)]
    assert replicas[1] > replicas[0]
    pod = find(production, "Deployment")["spec"]["template"]["spec"]
    pod_labels = find(production, "Deployment")["spec"]["template"]["metadata"]["labels"]
    by_node = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "kubernetes.io/hostname"]
    assert by_node and by_node[0]["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    monitor, service = find(production, "ServiceMonitor"), find(production, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert container_of(find(production, "Deployment"))["image"] != container_of(find(base, "Deployment"))["image"]


def test_kserve_predictor_speaks_v2_and_runs_like_the_deployment(
    rendered: dict[str, list[Manifest]], inference_service: Manifest
) -> None:
    predictor = inference_service["spec"]["predictor"]
    (container,) = predictor["containers"]
    assert {"name": "PROTOCOL", "value": "v2"} in container["env"]
    deployment = find(rendered["base"], "Deployment")
    pod, reference = deployment["spec"]["template"]["spec"], container_of(deployment)
    for field in ("securityContext", "terminationGracePeriodSeconds", "automountServiceAccountToken", "volumes"):
        assert predictor[field] == pod[field], field
    for field in ("resources", "securityContext", "lifecycle", "volumeMounts"):
        assert container[field] == reference[field], field
    ports = {port["name"]: port["containerPort"] for port in reference["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe] == with_port_numbers(reference[probe], ports), probe
    scaling = (predictor["scaleMetric"], predictor["scaleMetricType"], predictor["minReplicas"])
    assert scaling[:2] == ("cpu", "Utilization") and scaling[2] >= 2
