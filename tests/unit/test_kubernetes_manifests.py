"""deploy/kubernetes/ checked against the code (there is no cluster here): ports, probe paths, variable names and
values, Secrets, topics and ACLs, KEDA's consumer groups; and every core resource against the Kubernetes JSON schemas
of the `kubernetes-validate` package (strict: an unknown field fails). That package has no schemas for custom
resources, so Strimzi's KafkaTopic/KafkaUser and KEDA's ScaledObject/TriggerAuthentication have their required
fields and enumerations checked by hand below, from the operators' CRDs."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version
from prometheus_client import CollectorRegistry

from deploy import strimzi
from deploy.local.settings import SERVICES
from services.console.app import build_console
from services.console.settings import ConsoleSettings
from shared.clock import SystemClock
from shared.configuration import APP_SETTINGS, SERVICE_SETTINGS, sections
from shared.events.catalogue import SUBSCRIPTIONS
from shared.identity.settings import IdentitySettings
from shared.kafka.topics import load_topics
from shared.operations.commands import LIFECYCLE_TOPICS
from shared.service import ServiceRuntime, build_app
from shared.settings import AppSettings, KafkaSettings, LogSettings, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
KNOWN_VARIABLES = {variable.name for _, found in sections() for variable in found}
SITE_EXAMPLE = "site.example.yaml"  # applied by the site, not by kustomize (it holds the Secrets)
# The oldest Kubernetes minor these manifests claim to run on, and the newest the schema package knows.
KUBERNETES_VERSIONS = ("1.30", latest_version())


def documents(name: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all((KUBERNETES / name).read_text()) if document]


MANIFESTS = sorted(path.name for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml")
RESOURCES = [(name, document) for name in MANIFESTS for document in documents(name)]
CUSTOM_KINDS = {"KafkaTopic", "KafkaUser", "ScaledObject", "TriggerAuthentication"}


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {document["metadata"]["name"]: document for _, document in RESOURCES if document["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def environment_of(pod_container: dict[str, Any]) -> dict[str, str]:
    """The variables a container gets with their values (a Secret's from site.example.yaml, Strimzi's as a marker)."""
    configmaps, secrets = of_kind("ConfigMap"), of_kind("Secret")
    values: dict[str, str] = {}
    for source in pod_container.get("envFrom", []):
        if "configMapRef" in source:
            values.update(configmaps[source["configMapRef"]["name"]]["data"])
        else:
            values.update(secrets[source["secretRef"]["name"]]["stringData"])
    for variable in pod_container.get("env", []):
        values[variable["name"]] = variable.get("value", "<from a Secret>")
    return values


# -- the whole folder ------------------------------------------------------------------------------------------------


def test_the_kustomization_lists_every_manifest_but_the_site_s_secrets() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(set(MANIFESTS) - {SITE_EXAMPLE})
    assert kustomization["images"] == [{"name": "lienthong", "newTag": importlib.metadata.version("lienthong")}]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(
    ("name", "document"),
    [(name, document) for name, document in RESOURCES if document["kind"] not in CUSTOM_KINDS],
    ids=lambda value: value if isinstance(value, str) else f"{value['kind']}/{value['metadata']['name']}",
)
def test_each_core_resource_validates_against_the_kubernetes_schema(
    name: str, document: dict[str, Any], version: str
) -> None:
    kubernetes_validate.validate(document, version, strict=True)


def test_the_schema_check_is_strict() -> None:
    deployment = dict(of_kind("Deployment")["intake"])
    deployment["spec"] = {**deployment["spec"], "replica": 2}  # a typo of `replicas`
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


# -- each service ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", APP_SETTINGS, ids=lambda s: s.service)
def test_each_deployment_runs_its_service_on_its_port_with_the_app_s_probes(settings: type[AppSettings]) -> None:
    name = settings.service
    deployment = of_kind("Deployment")[name]
    app_container = container(deployment)
    assert app_container["image"] == f"lienthong:{importlib.metadata.version('lienthong')}"
    assert app_container["command"] == ["python", "-m", f"services.{name}"]
    assert importlib.util.find_spec(f"services.{name}.__main__") is not None
    assert app_container["ports"] == [{"name": "http", "containerPort": settings.default_port}]
    environment = environment_of(app_container)
    assert environment[f"{name.upper()}_PORT"] == str(settings.default_port)
    assert environment[f"{name.upper()}_HOST"] == "0.0.0.0"

    service = of_kind("Service")[name]
    assert service["spec"]["ports"] == [
        {"name": "http", "port": settings.default_port, "targetPort": settings.default_port}
    ]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(settings.default_port)
    assert annotations["prometheus.io/path"] in app_paths(settings)

    liveness, readiness = app_container["livenessProbe"]["httpGet"], app_container["readinessProbe"]["httpGet"]
    assert (liveness["path"], readiness["path"]) == ("/healthz", "/readyz")
    assert {"/healthz", "/readyz"} <= app_paths(settings)
    assert liveness["port"] == readiness["port"] == "http"

    budget = of_kind("PodDisruptionBudget")[name]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def app_paths(settings: type[AppSettings]) -> set[str]:
    """The paths the app really serves: the services' shared shell, or the console (built, not started: nothing
    connects)."""
    if settings is ConsoleSettings:
        app = build_console(ConsoleSettings(), IdentitySettings(), SystemClock(), CollectorRegistry())
    else:
        app = build_app(
            ServiceRuntime(settings=SERVICE_SETTINGS[0](), migrations=[]), "probe paths", IdentitySettings()
        )
    return {getattr(route, "path", "") for route in app.routes}


@pytest.mark.parametrize("name", [*SERVICES, "console", "rules-publish"])
def test_pods_run_unprivileged_with_bounded_resources(name: str) -> None:
    workload = {**of_kind("Deployment"), **of_kind("Job")}[name]
    pod = workload["spec"]["template"]["spec"]
    dockerfile_uid = re.search(r"useradd .*--uid (\d+)", (REPO / "deploy" / "Dockerfile").read_text())
    assert dockerfile_uid is not None
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(dockerfile_uid.group(1))
    assert pod["automountServiceAccountToken"] is False
    # Kubernetes would otherwise inject `<SERVICE>_PORT=tcp://...` for each Service, which is a setting here.
    assert pod["enableServiceLinks"] is False
    pod_container = container(workload)
    assert pod_container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    resources = pod_container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert {"cpu", "memory"} <= resources["limits"].keys()


# -- configuration and Secrets ---------------------------------------------------------------------------------------


def variable_names() -> set[str]:
    names: set[str] = set()
    for _, document in RESOURCES:
        if document["kind"] in ("Deployment", "Job"):
            names |= {variable["name"] for variable in container(document).get("env", [])}
    configmaps = of_kind("ConfigMap")
    names |= {key for name, configmap in configmaps.items() if name != "lienthong-jwks" for key in configmap["data"]}
    names |= {key for secret in of_kind("Secret").values() if secret["metadata"]["name"].endswith("-secrets")
              for key in secret["stringData"]}  # fmt: skip
    return names


def test_every_variable_is_a_setting_of_docs_configuration() -> None:
    names = variable_names()
    assert names, "no variables found"
    assert names <= KNOWN_VARIABLES, names - KNOWN_VARIABLES


@pytest.mark.parametrize("settings", SERVICE_SETTINGS, ids=lambda s: s.service)
def test_the_environment_is_valid_for_the_settings(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = environment_of(container(of_kind("Deployment")[settings.service]))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    service = settings()
    assert service.http_port == settings.default_port
    assert not service.creates_own_database  # each service's own database, given by its Secret
    kafka = KafkaSettings()
    assert (kafka.security_protocol, kafka.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert kafka.sasl_username == strimzi.user_of(settings.service)
    assert kafka.ssl_cafile is not None
    assert LogSettings().format == "json"
    assert environment["CLOCK_ENVIRONMENT"] == "production"


def test_the_console_calls_the_services_through_their_services_with_a_secure_cookie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = environment_of(container(of_kind("Deployment")["console"]))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    console = ConsoleSettings()
    assert console.http_port == ConsoleSettings.default_port
    services = of_kind("Service")
    assert console.service_urls() == {
        name: f"http://{name}:{services[name]['spec']['ports'][0]['port']}" for name in SERVICES
    }
    assert console.cookie_secure
    kafka = KafkaSettings()
    assert (kafka.security_protocol, kafka.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert kafka.sasl_username == strimzi.user_of("console")
    assert environment["CLOCK_ENVIRONMENT"] == "production"


def test_the_console_runs_two_pods_and_a_drain_leaves_one() -> None:
    assert of_kind("Deployment")["console"]["spec"]["replicas"] >= 2
    assert of_kind("PodDisruptionBudget")["console"]["spec"]["maxUnavailable"] == 1


def test_the_console_reads_the_lifecycle_topics_only_and_as_an_observer() -> None:
    acls = of_kind("KafkaUser")[strimzi.user_of("console")]["spec"]["authorization"]["acls"]
    assert {acl["resource"]["name"] for acl in acls} == set(LIFECYCLE_TOPICS)
    assert {acl["resource"]["type"] for acl in acls} == {"topic"}, "no consumer group: nothing committed"
    assert {operation for acl in acls for operation in acl["operations"]} == {"Read", "Describe"}


def secret_variables(settings: type[AppSettings]) -> set[str]:
    """The settings that must come from a Secret: their type is SecretStr, or they are a database URL."""
    prefix = settings.model_config.get("env_prefix", "")
    return {
        (prefix + field).upper()
        for field, info in settings.model_fields.items()
        if "SecretStr" in str(info.annotation) or field == "database_url"
    }


@pytest.mark.parametrize("settings", APP_SETTINGS, ids=lambda s: s.service)
def test_secret_settings_come_from_secrets_never_from_configmaps(settings: type[AppSettings]) -> None:
    app_container = container(of_kind("Deployment")[settings.service])
    in_secret = set(of_kind("Secret")[f"lienthong-{settings.service}-secrets"]["stringData"])
    assert secret_variables(settings) <= in_secret
    in_configmaps = {key for configmap in of_kind("ConfigMap").values() for key in configmap["data"]}
    kafka_secrets = {f"KAFKA_{field.upper()}" for field in ("sasl_password",)}
    assert not (secret_variables(settings) | kafka_secrets) & in_configmaps
    password = next(variable for variable in app_container["env"] if variable["name"] == "KAFKA_SASL_PASSWORD")
    # The Secret Strimzi's User Operator writes for the service's KafkaUser.
    assert password["valueFrom"]["secretKeyRef"] == {"name": strimzi.user_of(settings.service), "key": "password"}


def test_every_referenced_configmap_and_secret_exists_or_is_strimzi_s() -> None:
    defined = set(of_kind("ConfigMap")) | set(of_kind("Secret"))
    strimzi_made = set(of_kind("KafkaUser")) | {f"{strimzi.CLUSTER}-cluster-ca-cert"}
    for _, document in RESOURCES:
        if document["kind"] not in ("Deployment", "Job"):
            continue
        pod = document["spec"]["template"]["spec"]
        refs = {ref.get("configMapRef", ref.get("secretRef", {})).get("name") for ref in container(document)["envFrom"]}
        refs |= {v["valueFrom"]["secretKeyRef"]["name"] for v in container(document)["env"] if "valueFrom" in v}
        refs |= {volume["secret"]["secretName"] for volume in pod["volumes"] if "secret" in volume}
        refs |= {volume["configMap"]["name"] for volume in pod["volumes"] if "configMap" in volume}
        assert refs <= defined | strimzi_made, refs - defined - strimzi_made


# -- topics and ACLs (Strimzi) ---------------------------------------------------------------------------------------


def test_the_kafka_resources_are_generated_from_the_code() -> None:
    assert (KUBERNETES / "kafka.yaml").read_text() == strimzi.render(), (
        "run: python -m deploy.strimzi > deploy/kubernetes/kafka.yaml"
    )


def test_topics_have_the_partitions_of_topics_yaml_replication_3_and_min_insync_2() -> None:
    # Read topics.yaml as plain YAML here, not through the generator's loader: an independent reading.
    definition = yaml.safe_load((REPO / "deploy" / "topics.yaml").read_text())
    topics = of_kind("KafkaTopic")
    assert {name: topic["spec"]["partitions"] for name, topic in topics.items()} == {
        topic["name"]: topic["partitions"] for topic in definition["topics"]
    }
    for topic in topics.values():
        assert topic["spec"]["replicas"] == definition["replication"]["production"] == 3
        assert topic["spec"]["config"]["min.insync.replicas"] == "2"


def acls_on_topic(topic: str, operation: str) -> set[str]:
    """The users that may perform `operation` on `topic`, literal or prefixed ACLs alike."""
    users = set()
    for name, user in of_kind("KafkaUser").items():
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            matches = resource["name"] == topic if resource["patternType"] == "literal" else (
                topic.startswith(resource["name"]))  # fmt: skip
            if resource["type"] == "topic" and matches and ({operation, "All"} & set(acl["operations"])):
                users.add(name)
    return users


def test_the_contacts_topic_is_readable_by_notification_and_postal_only() -> None:
    assert acls_on_topic("lienthong.intake.contacts.v1", "Read") == {"lienthong-notification", "lienthong-postal"}


def test_each_service_writes_only_its_own_topics_and_its_dead_letters() -> None:
    definition = yaml.safe_load((REPO / "deploy" / "topics.yaml").read_text())
    for topic in definition["topics"]:
        writers = acls_on_topic(topic["name"], "Write")
        if topic["producer"] == "rules-publisher":
            assert writers == {"lienthong-rules"}
        else:
            assert writers == {strimzi.user_of(topic["producer"])}, topic["name"]
        if topic["name"].endswith(".dlq"):
            assert topic["name"] == f"lienthong.{topic['producer']}.dlq"


@pytest.mark.parametrize("settings", SERVICE_SETTINGS, ids=lambda s: s.service)
def test_each_service_reads_what_its_group_subscribes_to_and_its_rules(settings: type[ServiceSettings]) -> None:
    group = strimzi.group_of(settings.service)
    assert group == importlib.import_module(f"services.{settings.service}.consumer").GROUP
    for topic in SUBSCRIPTIONS[group]:
        assert strimzi.user_of(settings.service) in acls_on_topic(topic, "Read")
    main = (REPO / "services" / settings.service / "__main__.py").read_text()
    assert ("rules_worker" in main) == (settings.service in strimzi.RULES_READERS)


STRIMZI_OPERATIONS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
                      "DescribeConfigs", "IdempotentWrite", "All"}  # fmt: skip
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def test_strimzi_resources_have_the_fields_their_crds_require() -> None:
    """By hand, from Strimzi's v1 CRDs (kubernetes-validate has no custom resource schemas)."""
    for name, topic in of_kind("KafkaTopic").items():
        assert DNS_SUBDOMAIN.match(name)
        assert len(name) <= 253
        assert topic["apiVersion"] == "kafka.strimzi.io/v1"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == strimzi.CLUSTER
        assert isinstance(topic["spec"]["partitions"], int)
        assert topic["spec"]["partitions"] > 0
        assert all(isinstance(value, str | int) for value in topic["spec"]["config"].values())
    for name, user in of_kind("KafkaUser").items():
        assert DNS_SUBDOMAIN.match(name)
        assert user["apiVersion"] == "kafka.strimzi.io/v1"
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == strimzi.CLUSTER
        assert user["spec"]["authentication"]["type"] in ("tls", "tls-external", "scram-sha-512")
        assert user["spec"]["authorization"]["type"] == "simple"
        for acl in user["spec"]["authorization"]["acls"]:
            assert acl["resource"]["type"] in ("topic", "group", "cluster", "transactionalId")
            assert acl["resource"]["patternType"] in ("literal", "prefix")
            assert acl["operations"]
            assert set(acl["operations"]) <= STRIMZI_OPERATIONS


# -- KEDA ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", SERVICE_SETTINGS, ids=lambda s: s.service)
def test_keda_scales_each_service_on_its_group_s_lag(settings: type[ServiceSettings]) -> None:
    """Required fields by hand, from KEDA's ScaledObject CRD (keda.sh/v1alpha1) and its Kafka scaler."""
    name = settings.service
    scaled = of_kind("ScaledObject")[name]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] in of_kind("Deployment")
    assert "replicas" not in of_kind("Deployment")[name]["spec"]  # KEDA owns the count
    partitions = {topic.name: topic.partitions for topic in load_topics().topics}
    assert scaled["spec"]["maxReplicaCount"] == max(partitions[topic] for topic in SUBSCRIPTIONS[f"lienthong.{name}"])
    # With the PodDisruptionBudget's maxUnavailable 1, a drain always leaves one pod serving.
    assert scaled["spec"]["minReplicaCount"] >= 2
    assert of_kind("PodDisruptionBudget")[name]["spec"]["maxUnavailable"] == 1
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    assert metadata["consumerGroup"] == strimzi.group_of(name)
    assert metadata["bootstrapServers"] == of_kind("ConfigMap")["lienthong-common"]["data"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert int(metadata["lagThreshold"]) > 0
    assert isinstance(metadata["lagThreshold"], str)
    assert trigger["authenticationRef"]["name"] in of_kind("TriggerAuthentication")


def test_keda_reaches_the_broker_as_its_own_describe_only_user() -> None:
    [authentication] = of_kind("TriggerAuthentication").values()
    references = {ref["parameter"]: ref for ref in authentication["spec"]["secretTargetRef"]}
    assert set(references) == {"sasl", "tls", "username", "password", "ca"}
    settings = of_kind("Secret")["lienthong-keda-kafka"]["stringData"]
    user = settings["username"]
    assert (settings["sasl"], settings["tls"]) == ("scram_sha512", "enable")
    assert references["password"]["name"] == user
    assert references["password"]["key"] == "password"
    assert references["ca"] == {"parameter": "ca", "name": f"{strimzi.CLUSTER}-cluster-ca-cert", "key": "ca.crt"}
    acls = of_kind("KafkaUser")[user]["spec"]["authorization"]["acls"]
    assert {operation for acl in acls for operation in acl["operations"]} == {"Describe"}
