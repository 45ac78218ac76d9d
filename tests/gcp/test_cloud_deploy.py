"""``fk deploy`` / ``fk status`` / ``fk remove`` to a real project (a config without
``functions-endpoint``): Pub/Sub and Firestore on the emulators, the Cloud Functions and Cloud
Scheduler APIs (which no emulator serves) answered by the stand-ins of :mod:`.fake_cloud`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions as google_errors

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException, ProviderException
from faaskeeper.plugins.manager import get_provider
from faaskeeper_gcp.deploy import cloud_apis
from faaskeeper_gcp.deploy.cloud_options import DeployOptions
from faaskeeper_gcp.deploy.package import build_source_archive
from faaskeeper_gcp.names import ENV_CONFIG, ENV_WATCH_URL, FUNCTIONS, PUSHED_FUNCTIONS
from faaskeeper_gcp.settings import GcpSettings

from .fake_cloud import FakeCloud
from .fixtures import PROJECT, gcp_config

ACCOUNT = "faaskeeper@faaskeeper-test.iam.gserviceaccount.com"
LOCATION = f"projects/{PROJECT}/locations/us-east1"


def project_config(**section: Any) -> Config:
    """A config for a real project: no functions endpoint, a service account."""
    raw = gcp_config(heartbeat=150, session_timeout=600).serialize()
    raw["gcp"] = {"project": PROJECT, "service-account": ACCOUNT, **section}
    return Config.deserialize(raw)


@pytest.fixture
def cloud(gcp: None) -> Iterator[FakeCloud]:
    fake = FakeCloud()
    with cloud_apis.use(fake.apis()):
        yield fake


@pytest.fixture
def deployed(cloud: FakeCloud) -> Iterator[Config]:
    provider = get_provider("gcp")
    config = provider.deploy(project_config())
    yield config
    provider.remove(config)


def subscriptions(config: Config) -> dict[str, Any]:
    settings = GcpSettings.from_config(config)
    prefix = settings.names.prefix + "-"
    found = {
        s.name.rsplit("/", 1)[1]: s
        for s in settings.subscriber().list_subscriptions(project=f"projects/{PROJECT}")
        if prefix in s.name
    }
    settings.close()
    return found


def test_deploy_creates_the_functions_from_the_archive(cloud: FakeCloud, deployed: Config) -> None:
    names = GcpSettings.from_config(deployed).names
    created = cloud.functions.called("create_function")
    # The watch function first: the distributor is made with its URL.
    order = ["watch", "writer", "distributor", "heartbeat"]
    assert sorted(order) == sorted(FUNCTIONS)
    assert [r.function_id for r in created] == [names.function_name(f) for f in order]
    archive = build_source_archive()
    assert [data for _, data in cloud.uploaded] == [archive.data] * 4
    watch_url = cloud.functions.functions[f"{LOCATION}/functions/{names.function_name('watch')}"].service_config.uri
    for function, request in zip(order, created, strict=True):
        spec = request.function
        assert request.parent == LOCATION
        assert spec.environment.name == "GEN_2"
        assert (spec.build_config.runtime, spec.build_config.entry_point) == ("python312", function)
        assert spec.build_config.source.storage_source.bucket == "gcf-v2-uploads"
        service = spec.service_config
        assert (service.available_memory, service.timeout_seconds) == ("512Mi", 540)
        assert service.service_account_email == ACCOUNT
        assert service.max_instance_request_concurrency == 1
        assert spec.labels["faaskeeper-deployment"] == names.deployment
        # The functions read the deployed client config, as clients do.
        assert Config.deserialize(json.loads(service.environment_variables[ENV_CONFIG])) == deployed
        assert service.environment_variables.get(ENV_WATCH_URL) == (watch_url if function == "distributor" else None)
        assert not spec.event_trigger.pubsub_topic, "pushes come from the deployment's own subscriptions"


def test_push_subscriptions_deliver_to_the_functions_with_oidc_tokens(cloud: FakeCloud, deployed: Config) -> None:
    names = GcpSettings.from_config(deployed).names
    found = subscriptions(deployed)
    assert names.push_subscription("watch") not in found, "the distributor calls the watch function"
    for function in PUSHED_FUNCTIONS:
        url = cloud.functions.functions[f"{LOCATION}/functions/{names.function_name(function)}"].service_config.uri
        push = found[names.push_subscription(function)]
        assert push.push_config.push_endpoint == url
        assert push.push_config.oidc_token.service_account_email == ACCOUNT
        assert push.push_config.oidc_token.audience == url
        assert push.enable_message_ordering
        assert push.dead_letter_policy.dead_letter_topic.endswith(names.dead_letter_topic(function))


def test_a_scheduler_job_publishes_the_heartbeats_tick(cloud: FakeCloud, deployed: Config) -> None:
    names = GcpSettings.from_config(deployed).names
    [request] = cloud.scheduler.called("create_job")
    assert request.parent == LOCATION
    job = request.job
    assert job.name == f"{LOCATION}/jobs/{names.prefix}-heartbeat"
    assert (job.schedule, job.time_zone) == ("*/3 * * * *", "Etc/UTC")  # 150 s, rounded up to minutes
    assert job.pubsub_target.topic_name == f"projects/{PROJECT}/topics/{names.topic('heartbeat')}"
    assert job.pubsub_target.data == b"tick"


def changed(config: Config, **changes: Any) -> Config:
    raw = config.serialize()
    for key, value in changes.items():
        if key.startswith("gcp_"):
            raw["gcp"][key[4:].replace("_", "-")] = value
        else:
            raw[key.replace("_", "-")] = value
    return Config.deserialize(raw)


def test_deploying_again_changes_only_what_changed(cloud: FakeCloud, deployed: Config) -> None:
    provider = get_provider("gcp")
    before = len(cloud.functions.requests), len(cloud.scheduler.requests), len(cloud.uploaded)
    provider.deploy(deployed)
    assert (len(cloud.functions.requests), len(cloud.scheduler.requests), len(cloud.uploaded)) == before

    provider.deploy(changed(deployed, gcp_function_memory=1024))
    updated = cloud.functions.called("update_function")
    assert [r.function.service_config.available_memory for r in updated] == ["1024Mi"] * 4
    assert len(cloud.uploaded) == 8
    assert not cloud.functions.called("create_function")[4:]
    assert not cloud.scheduler.called("update_job"), "the schedule did not change"

    provider.deploy_functions(changed(deployed, gcp_function_memory=1024, heartbeat_frequency=7200))
    [job] = cloud.scheduler.called("update_job")
    assert job.job.schedule == "0 */2 * * *"


def test_status_lists_the_functions_and_the_job(cloud: FakeCloud, deployed: Config) -> None:
    shown = get_provider("gcp").status(deployed)
    states = {(r["kind"], r["name"]): r["state"] for r in shown.get("resources", [])}
    names = GcpSettings.from_config(deployed).names
    for function in FUNCTIONS:
        name = names.function_name(function)
        assert states[("Cloud Function", name)] == f"ACTIVE, https://{name}-xyz-ue.a.run.app"
    assert states[("Cloud Scheduler job", f"{names.prefix}-heartbeat")] == "ENABLED, */3 * * * * Etc/UTC"


def test_remove_deletes_the_functions_and_the_job(cloud: FakeCloud) -> None:
    provider = get_provider("gcp")
    config = provider.deploy(project_config())
    provider.remove(config)
    assert cloud.functions.functions == {}
    assert cloud.scheduler.jobs == {}
    assert subscriptions(config) == {}
    assert len(cloud.functions.called("delete_function")) == 4
    provider.remove(config)  # nothing left to remove is no error
    gone = provider.status(config)
    assert (gone["deployed"], "resources" in gone) == (False, False)


def test_a_config_without_a_service_account_is_refused_before_anything_is_made(cloud: FakeCloud) -> None:
    raw = project_config().serialize()
    del raw["gcp"]["service-account"]
    with pytest.raises(ConfigurationException, match=r"gcp\.service-account"):
        get_provider("gcp").deploy(Config.deserialize(raw))
    assert cloud.functions.requests == []
    assert cloud.scheduler.requests == []
    assert subscriptions(Config.deserialize(raw)) == {}


def test_an_api_error_names_the_function(cloud: FakeCloud) -> None:
    cloud.functions.failure = google_errors.PermissionDenied("cloudfunctions.functions.create denied")
    config = project_config()
    try:
        with pytest.raises(ProviderException, match=r"deploy function .*-watch failed: PermissionDenied"):
            get_provider("gcp").deploy(config)
    finally:
        get_provider("gcp").remove(config)


def test_without_the_client_libraries_the_deploy_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.functions_v2", None)
    with pytest.raises(ConfigurationException, match=r"pip install 'faaskeeper-gcp\[deploy\]'"):
        cloud_apis.connect()


@pytest.mark.parametrize(
    ("seconds", "schedule"), [(0.5, "*/1 * * * *"), (60, "*/1 * * * *"), (61, "*/2 * * * *"), (5400, "0 */2 * * *")]
)
def test_the_heartbeat_schedule_is_whole_minutes(seconds: float, schedule: str) -> None:
    raw = project_config().serialize()
    raw["heartbeat-frequency"] = seconds
    assert DeployOptions.from_config(Config.deserialize(raw)).schedule == schedule
