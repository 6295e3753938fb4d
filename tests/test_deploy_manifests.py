"""The container image and the Kubernetes manifests agree with each other and with the app.

Pure file checks: nothing is built, applied or started.
"""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from django.http.request import validate_host

from accounts.clientip import parse_networks

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
EXAMPLE_SECRET = "secret.example.yaml"
KUSTOMIZATION = "kustomization.yaml"
APP_PORT = 8000
APP_UID = 10001
# Django's default when DJANGO_ALLOWED_HOSTS is unset (resetsite/settings.py).
DEFAULT_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


# --- helpers -----------------------------------------------------------------


def _load(name: str) -> list[dict[str, Any]]:
    with (K8S / name).open(encoding="utf-8") as handle:
        docs = [doc for doc in yaml.safe_load_all(handle) if doc is not None]
    assert all(isinstance(doc, dict) for doc in docs), f"{name}: every document is a mapping"
    return docs


def _one(name: str, kind: str) -> dict[str, Any]:
    docs = [doc for doc in _load(name) if doc.get("kind") == kind]
    assert len(docs) == 1, f"{name}: expected exactly one {kind}"
    return docs[0]


def _deployment() -> dict[str, Any]:
    return _one("deployment.yaml", "Deployment")


def _pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = _deployment()["spec"]["template"]["spec"]
    return spec


def _container() -> dict[str, Any]:
    containers = _pod_spec()["containers"]
    assert len(containers) == 1, "the pod runs one container"
    container: dict[str, Any] = containers[0]
    return container


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def _configmap() -> dict[str, Any]:
    return _one("configmap.yaml", "ConfigMap")


def _example_secret() -> dict[str, Any]:
    return _one(EXAMPLE_SECRET, "Secret")


def _secret_keys(secret: dict[str, Any]) -> set[str]:
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def _resolve_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port (number or name) as one of the container's ports."""
    ports = container.get("ports", [])
    for entry in ports:
        if port in (entry["containerPort"], entry.get("name")):
            number: int = entry["containerPort"]
            return number
    raise AssertionError(f"port {port!r} is not one of the container's ports {ports}")


_UNITS = {
    "m": Decimal("0.001"),
    "": Decimal(1),
    "k": Decimal(1000),
    "M": Decimal(1000**2),
    "G": Decimal(1000**3),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
}


def _quantity(value: str | int | float) -> Decimal:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?", str(value))
    assert match, f"not a Kubernetes quantity: {value!r}"
    return Decimal(match.group(1)) * _UNITS[match.group(2) or ""]


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends in a line continuation"
    return instructions


def _docker_args(keyword: str) -> list[str]:
    return [args for instruction, args in _dockerfile() if instruction == keyword]


def _exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form CMD or HEALTHCHECK CMD."""
    start = args.index("[")
    value = json.loads(args[start:])
    assert isinstance(value, list)
    assert all(isinstance(item, str) for item in value)
    return value


# --- manifests as a set ------------------------------------------------------


def _manifest_files() -> list[str]:
    return sorted(path.name for path in K8S.glob("*.yaml") if path.name != KUSTOMIZATION)


def test_every_manifest_is_a_named_kubernetes_object() -> None:
    names = _manifest_files()
    assert names
    for name in names:
        for doc in _load(name):
            assert doc.get("apiVersion"), name
            assert doc.get("kind"), name
            assert doc.get("metadata", {}).get("name"), name


def test_kustomization_lists_every_manifest_except_the_examples() -> None:
    """Examples (the Secret, the Ingress) hold placeholders: they are not applied."""
    kustomization = _load(KUSTOMIZATION)[0]
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources)), "no manifest listed twice"
    examples = {name for name in _manifest_files() if name.endswith(".example.yaml")}
    assert {EXAMPLE_SECRET, "ingress.example.yaml"} <= examples
    assert set(resources) == set(_manifest_files()) - examples


def test_kustomization_image_name_matches_the_deployment() -> None:
    kustomization = _load(KUSTOMIZATION)[0]
    names = {image["name"] for image in kustomization.get("images", [])}
    assert _container()["image"] in names


def test_example_secret_holds_only_placeholders() -> None:
    secret = _example_secret()
    assert "data" not in secret, "placeholders belong in stringData, readable as such"
    for key, value in secret["stringData"].items():
        assert value == "" or "REPLACE" in value, f"{key} looks like a real value"
    assert "EXAMPLE" in (K8S / EXAMPLE_SECRET).read_text(encoding="utf-8")


# --- deployment --------------------------------------------------------------


def test_deployment_selector_matches_its_pod_labels() -> None:
    deployment = _deployment()
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector
    assert selector.items() <= labels.items()


def test_deployment_size_and_shutdown() -> None:
    deployment = _deployment()
    assert deployment["spec"]["replicas"] == 2
    assert _pod_spec()["terminationGracePeriodSeconds"] == 30


def test_container_listens_on_the_app_port() -> None:
    container = _container()
    assert _resolve_port(container, "http") == APP_PORT
    bind = _env(container).get("BIND", {}).get("value", f"0.0.0.0:{APP_PORT}")
    assert bind.rsplit(":", 1)[-1] == str(APP_PORT)


@pytest.mark.parametrize(
    ("probe", "path"),
    [("livenessProbe", "/healthz"), ("startupProbe", "/healthz"), ("readinessProbe", "/readyz")],
)
def test_probes_hit_health_checks_on_the_container_port(probe: str, path: str) -> None:
    # Neither path calls Cognito: a brownout must not take pods out of the Service.
    container = _container()
    http_get = container[probe]["httpGet"]
    assert http_get["path"] == path
    assert http_get.get("scheme", "HTTP") == "HTTP"
    assert _resolve_port(container, http_get["port"]) == APP_PORT


def test_probe_host_header_is_an_allowed_host() -> None:
    """Django answers 400 to a Host outside DJANGO_ALLOWED_HOSTS, so the probe would fail."""
    container = _container()
    raw = _configmap()["data"].get("DJANGO_ALLOWED_HOSTS")
    allowed = [h.strip() for h in raw.split(",")] if raw else DEFAULT_ALLOWED_HOSTS
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        headers = {
            h["name"].lower(): h["value"]
            for h in container[probe]["httpGet"].get("httpHeaders", [])
        }
        # Without a Host header the kubelet sends the pod IP, which is never allowed.
        assert "host" in headers, f"{probe} must send a Host header"
        assert validate_host(headers["host"], allowed), f"{probe}: {headers['host']} not allowed"


def test_pod_security_context() -> None:
    context = _pod_spec()["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == APP_UID
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    assert _pod_spec().get("hostNetwork", False) is False


def test_container_security_context() -> None:
    pod = _pod_spec()["securityContext"]
    context = _container()["securityContext"]
    # The container's own values win over the pod's.
    assert context.get("runAsNonRoot", pod.get("runAsNonRoot")) is True
    assert context.get("runAsUser", pod.get("runAsUser")) == APP_UID
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context.get("privileged", False) is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert not context["capabilities"].get("add")


def test_read_only_root_has_a_writable_tmp() -> None:
    container = _container()
    volumes = {volume["name"]: volume for volume in _pod_spec()["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert "/tmp" in mounts
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert not mounts["/tmp"].get("readOnly", False)
    tmp_dir = _env(container).get("WEB_TMP_DIR", {}).get("value", "/tmp")
    assert PurePosixPath(tmp_dir).is_relative_to("/tmp")


def test_client_secret_file_is_a_key_of_a_mounted_secret() -> None:
    container = _container()
    env = _env(container)
    assert "COGNITO_CLIENT_SECRET" not in env, "the secret is read from a file, not the env"
    path = PurePosixPath(env["COGNITO_CLIENT_SECRET_FILE"]["value"])
    assert str(path) == "/var/run/secrets/reset-site/client-secret"

    volumes = {volume["name"]: volume for volume in _pod_spec()["volumes"]}
    mounts = [
        mount
        for mount in container["volumeMounts"]
        if path.parent == PurePosixPath(mount["mountPath"])
    ]
    assert len(mounts) == 1, f"exactly one volume is mounted at {path.parent}"
    assert mounts[0].get("readOnly") is True
    assert not mounts[0].get("subPath")
    source = volumes[mounts[0]["name"]]["secret"]

    # The file name is an item's path that projects a key of the Secret, or, with no
    # items, the key itself.
    items = source.get("items")
    if items is None:
        key = path.name
    else:
        keys = [item["key"] for item in items if item["path"] == path.name]
        assert len(keys) == 1, f"no item of the Secret volume is projected to {path.name}"
        key = keys[0]

    secret = _example_secret()
    assert source["secretName"] == secret["metadata"]["name"]
    assert key in _secret_keys(secret)


def test_django_secret_key_comes_from_the_secret() -> None:
    env = _env(_container())
    ref = env["DJANGO_SECRET_KEY"]["valueFrom"]["secretKeyRef"]
    assert "value" not in env["DJANGO_SECRET_KEY"]
    secret = _example_secret()
    assert ref["name"] == secret["metadata"]["name"]
    assert ref["key"] in _secret_keys(secret)


def test_configmap_feeds_the_container_and_holds_no_secrets() -> None:
    configmap = _configmap()
    sources = [source["configMapRef"]["name"] for source in _container()["envFrom"]]
    assert configmap["metadata"]["name"] in sources
    data = configmap["data"]
    assert all(isinstance(value, str) for value in data.values()), "quote every value"
    for key in data:
        assert "SECRET" not in key, f"{key} belongs in the Secret"
    for key in ("COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "DJANGO_ALLOWED_HOSTS"):
        assert data.get(key), f"{key} is required"
    # The settings refuse to start on a malformed value.
    parse_networks(data.get("TRUSTED_PROXIES", "").split(","))


def test_more_than_one_replica_uses_a_shared_redis_cache() -> None:
    replicas = max(
        _deployment()["spec"].get("replicas", 1),
        _one("hpa.yaml", "HorizontalPodAutoscaler")["spec"].get("minReplicas", 1),
    )
    env = _env(_container())
    cache_url = env.get("CACHE_URL", {}).get("value") or _configmap()["data"].get("CACHE_URL")
    assert replicas > 1  # as shipped: two replicas at least (README.md)
    assert cache_url, "several replicas need CACHE_URL"
    assert cache_url.startswith(("redis://", "rediss://"))


def test_resource_requests_and_limits() -> None:
    resources = _container()["resources"]
    assert resources["requests"] == {"cpu": "250m", "memory": "128Mi"}
    assert resources["limits"] == {"cpu": "1", "memory": "256Mi"}
    for name in ("cpu", "memory"):
        assert _quantity(resources["requests"][name]) <= _quantity(resources["limits"][name])


# --- service and autoscaler --------------------------------------------------


def test_service_targets_the_pods_and_their_port() -> None:
    service = _one("service.yaml", "Service")
    spec = service["spec"]
    assert spec.get("type", "ClusterIP") == "ClusterIP"
    labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"]
    assert spec["selector"].items() <= labels.items()
    (port,) = spec["ports"]
    assert port["port"] == 80
    assert _resolve_port(_container(), port["targetPort"]) == APP_PORT


def test_hpa_scales_the_deployment() -> None:
    hpa = _one("hpa.yaml", "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    deployment = _deployment()
    target = spec["scaleTargetRef"]
    assert target["kind"] == "Deployment"
    assert target["apiVersion"] == deployment["apiVersion"]
    assert target["name"] == deployment["metadata"]["name"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
    assert spec["minReplicas"] <= deployment["spec"]["replicas"] <= spec["maxReplicas"]
    (metric,) = spec["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


# --- Dockerfile --------------------------------------------------------------


def test_dockerfile_base_image_is_slim_python_311() -> None:
    (base,) = _docker_args("FROM")
    # The base is a build argument (tests/test_release.py): check its default.
    defaults = dict(arg.split("=", 1) for arg in _docker_args("ARG") if "=" in arg)
    base = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], base)
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(@sha256:[0-9a-f]{64})?", base), base


def test_dockerfile_runs_make_install_with_the_production_lock() -> None:
    runs = [shlex.split(args) for args in _docker_args("RUN")]
    installs = [
        words
        for words in runs
        if any(words[i : i + 2] == ["make", "install"] for i in range(len(words)))
    ]
    assert len(installs) == 1
    assert "LOCK=requirements.lock" in installs[0]
    assert "requirements-dev.lock" not in DOCKERFILE.read_text(encoding="utf-8")


def test_dockerfile_switches_to_an_unprivileged_user_that_owns_no_code() -> None:
    instructions = _dockerfile()
    users = [index for index, (keyword, _) in enumerate(instructions) if keyword == "USER"]
    assert users, "the image must not run as root"
    final_user = instructions[users[-1]][1]
    name, _, group = final_user.partition(":")
    assert name not in {"root", "0"}
    assert group not in {"root", "0"}
    assert name == str(APP_UID), "numeric, so Kubernetes can verify runAsNonRoot"
    # Nothing after the switch installs or changes files, and nothing hands over the code.
    assert all(keyword != "RUN" for keyword, _ in instructions[users[-1] :])
    assert "--chown" not in DOCKERFILE.read_text(encoding="utf-8")
    assert all("chown" not in args for keyword, args in instructions if keyword == "RUN")


def test_dockerfile_healthcheck_calls_healthz_with_python() -> None:
    (healthcheck,) = _docker_args("HEALTHCHECK")
    assert "/healthz" in healthcheck
    command = _exec_form(healthcheck)
    assert command[0].endswith("/python")
    assert command[1] == "-c"
    assert "urllib" in command[2]
    compile(command[2], "<HEALTHCHECK>", "exec")
    assert "curl" not in healthcheck
    assert "wget" not in healthcheck


def test_dockerfile_environment_port_and_command() -> None:
    env = " ".join(_docker_args("ENV"))
    for setting in (
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        f"BIND=0.0.0.0:{APP_PORT}",
        "WEB_TMP_DIR=/tmp",
    ):
        assert setting in env.split(), setting
    assert _docker_args("EXPOSE") == [str(APP_PORT)]
    (cmd,) = _docker_args("CMD")
    assert _exec_form(cmd) == [
        ".venv/bin/gunicorn",
        "-c",
        "gunicorn.conf.py",
        "resetsite.wsgi:application",
    ]


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".venv", "staticfiles", ".git", ".pytest_cache", "node_modules"):
        assert required in patterns, required
    # collectstatic runs with tests.settings at build time.
    for needed in ("tests", "tests/", "tests/settings.py", "Makefile", "requirements.lock"):
        assert needed.rstrip("/") not in patterns, needed
