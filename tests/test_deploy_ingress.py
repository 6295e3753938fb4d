"""deploy/kubernetes/ingress.example.yaml: HTTPS for the Service's host, as the site expects.

Pure file checks, with the helpers of tests/test_deploy_manifests.py.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http.request import validate_host

from tests.test_deploy_manifests import K8S, _configmap, _one

INGRESS = "ingress.example.yaml"
NGINX = "nginx.ingress.kubernetes.io/"


def _ingress() -> dict[str, Any]:
    return _one(INGRESS, "Ingress")


def _hosts() -> list[str]:
    return [rule["host"] for rule in _ingress()["spec"]["rules"]]


def test_ingress_is_an_example_of_the_stable_api() -> None:
    assert _ingress()["apiVersion"] == "networking.k8s.io/v1"
    assert "EXAMPLE" in (K8S / INGRESS).read_text(encoding="utf-8")
    assert _ingress()["spec"]["ingressClassName"]


def test_every_host_is_served_over_tls() -> None:
    tls = _ingress()["spec"]["tls"]
    covered = {host for entry in tls for host in entry["hosts"]}
    assert _hosts()
    assert set(_hosts()) <= covered
    assert all(entry.get("secretName") for entry in tls)


def test_plain_http_is_redirected_and_bodies_are_capped() -> None:
    annotations = _ingress()["metadata"]["annotations"]
    assert annotations[NGINX + "ssl-redirect"] == "true"
    assert annotations[NGINX + "force-ssl-redirect"] == "true"
    size = annotations[NGINX + "proxy-body-size"]
    assert size.endswith("k")
    assert int(size[:-1]) * 1024 <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_every_path_reaches_the_service_port() -> None:
    service = _one("service.yaml", "Service")
    ports = service["spec"]["ports"]
    for rule in _ingress()["spec"]["rules"]:
        (path,) = rule["http"]["paths"]
        assert (path["path"], path["pathType"]) == ("/", "Prefix")
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        wanted = backend["port"]
        assert any(wanted in ({"name": p.get("name")}, {"number": p["port"]}) for p in ports)


def test_hosts_are_allowed_by_the_site() -> None:
    """Django answers 400 to a Host outside DJANGO_ALLOWED_HOSTS."""
    allowed = [h.strip() for h in _configmap()["data"]["DJANGO_ALLOWED_HOSTS"].split(",")]
    for host in _hosts():
        assert validate_host(host, allowed), host
