import json

import pytest

from faaskeeper.config import ClientChannel, Config, QueueType, StorageType
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.protocol.settings import FunctionSettings

UPSTREAM = {
    "verbose": "false",
    "cloud-provider": "aws",
    "deployment-name": "dev",
    "deployment-region": "us-east-1",
    "user-storage": "key-value",
    "worker-queue": "sqs",
    "distributor-queue": "sqs",
    "client-channel": "sqs",
    "heartbeat-frequency": 5,
    "port": 13001,
    "aws": {"data-bucket": "faaskeeper-dev-data"},
}


def test_upstream_keys_are_accepted():
    cfg = Config.deserialize(UPSTREAM)
    assert cfg.cloud_provider == "aws"
    assert cfg.deployment_name == "dev"
    assert cfg.deployment_region == "us-east-1"
    assert cfg.user_storage is StorageType.KEY_VALUE
    assert cfg.writer_queue is QueueType.SQS
    assert cfg.distributor_queue is QueueType.SQS
    assert cfg.client_channel is ClientChannel.SQS
    assert cfg.heartbeat_frequency == 5
    assert cfg.port == 13001
    assert cfg.verbose is False  # the string "false" is false
    assert cfg.provider_config == {"data-bucket": "faaskeeper-dev-data"}


def test_minimal_local_config():
    cfg = Config.deserialize({"cloud-provider": "local", "deployment-name": "x", "local": {"path": "/tmp/x"}})
    assert cfg.user_storage is StorageType.PERSISTENT
    assert cfg.max_data_size == 1024 * 1024
    assert cfg.provider_config == {"path": "/tmp/x"}


def test_serialize_round_trip():
    cfg = Config.deserialize(UPSTREAM)
    again = Config.deserialize(json.loads(json.dumps(cfg.serialize())))
    assert again.serialize() == cfg.serialize()


def test_watch_fanout_defaults_to_32_and_is_kept():
    assert Config.deserialize(UPSTREAM).watch_fanout == 32
    cfg = Config.deserialize({**UPSTREAM, "watch-fanout": 0})
    assert cfg.watch_fanout == 0
    assert Config.deserialize(cfg.serialize()).watch_fanout == 0


@pytest.mark.parametrize("missing", ["cloud-provider", "deployment-name"])
def test_missing_required_key_is_named(missing):
    data = dict(UPSTREAM)
    del data[missing]
    with pytest.raises(ConfigurationException, match=repr(missing)):
        Config.deserialize(data)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("user-storage", "disk", "persistent | key-value"),
        ("client-channel", "udp", "'client-channel'"),
        ("worker-queue", "kafka", "'worker-queue'"),
        ("verbose", "yes", "true or false"),
        ("heartbeat-frequency", "5", "'heartbeat-frequency' must be a number"),
        ("port", 1.5, "'port' must be an integer"),
        ("max-data-size", 0, "'max-data-size' must be an integer from 1 to 1073741824 bytes, got 0"),
        ("watch-fanout", -1, "'watch-fanout' must be an integer from 0 to 1000000, got -1"),
        ("watch-fanout", True, "'watch-fanout' must be an integer"),
        ("aws", [], "'aws' must be an object"),
    ],
)
def test_bad_values_name_key_and_form(key, value, expected):
    data = dict(UPSTREAM)
    data[key] = value
    with pytest.raises(ConfigurationException, match=expected):
        Config.deserialize(data)


@pytest.mark.parametrize("name", ["dev", "d", "Prod_2", "faaskeeper-dev", "0day", "x" * 40])
def test_deployment_names_every_provider_can_use(name):
    assert Config.deserialize({"cloud-provider": "local", "deployment-name": name}).deployment_name == name


@pytest.mark.parametrize("name", ["/abs/x", "../x", "a/b", ".", "..", "-dev", "_dev", "a.b", "a b", "é", "x" * 41, ""])
def test_deployment_names_that_could_leave_a_directory_or_break_a_resource_name_are_refused(name):
    with pytest.raises(ConfigurationException, match=r"Config key 'deployment-name' must be "):
        Config.deserialize({"cloud-provider": "local", "deployment-name": name})


def test_not_an_object():
    with pytest.raises(ConfigurationException, match="JSON object"):
        Config.deserialize([])  # type: ignore[arg-type]


def test_from_file_errors(tmp_path):
    with pytest.raises(ConfigurationException, match="Cannot read"):
        Config.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigurationException, match="not valid JSON"):
        Config.from_file(bad)


def test_from_file_names_the_file_in_errors_and_remembers_it(tmp_path):
    path = tmp_path / "fk.json"
    path.write_text(json.dumps({"cloud-provider": "local", "deployment-name": "dev", "port": "80"}))
    with pytest.raises(
        ConfigurationException, match=rf"^{path}: Config key 'port' must be an integer from -1 to 65535, got '80'$"
    ):
        Config.from_file(path)
    path.write_text(json.dumps({"cloud-provider": "local", "deployment-name": "dev"}))
    assert Config.from_file(path).source == path


NOT_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize(
    ("key", "values", "expected"),
    [
        ("heartbeat-frequency", [*NOT_FINITE, 1e308, 0, 0.001, 86401], "a number from 0.01 to 86400 seconds"),
        ("session-timeout", [*NOT_FINITE, 1e308, 0, -1, 259201], "a number from 0.01 to 259200 seconds"),
        ("port", [99999, 65536, -2, 10**30], "an integer from -1 to 65535"),
        ("max-data-size", [0, 2**30 + 1, 10**400], "an integer from 1 to 1073741824 bytes"),
        ("watch-fanout", [-1, 10**7], "an integer from 0 to 1000000"),
    ],
)
def test_every_top_level_number_is_checked_for_range(key, values, expected):
    for value in values:
        with pytest.raises(ConfigurationException, match=rf"^Config key '{key}' must be {expected}, got "):
            Config.deserialize({**UPSTREAM, key: value})


def test_numbers_at_the_ends_of_their_ranges_are_taken():
    low = Config.deserialize({**UPSTREAM, "heartbeat-frequency": 0.01, "session-timeout": 0.01, "port": -1})
    assert (low.heartbeat_frequency, low.session_timeout, low.port) == (0.01, 0.01, -1)
    high = Config.deserialize(
        {**UPSTREAM, "heartbeat-frequency": 86400, "session-timeout": 259200, "port": 65535, "max-data-size": 2**30}
    )
    assert (high.heartbeat_frequency, high.session_timeout, high.port, high.max_data_size) == (
        86400,
        259200,
        65535,
        2**30,
    )


def test_a_config_file_with_nan_is_refused_naming_the_file_and_key(tmp_path):
    path = tmp_path / "fk.json"
    path.write_text('{"cloud-provider": "local", "deployment-name": "d", "heartbeat-frequency": NaN}')
    with pytest.raises(ConfigurationException, match=rf"^{path}: Config key 'heartbeat-frequency' must be a number "):
        Config.from_file(path)


@pytest.mark.parametrize(
    ("heartbeat", "timeout", "interval"),
    [(5.0, None, 5.0), (5.0, 3.0, 1.0), (0.2, 0.6, 0.2), (60.0, 180.0, 60.0), (1.0, 30.0, 1.0)],
)
def test_the_heartbeat_runs_at_least_three_times_per_session_timeout(heartbeat, timeout, interval):
    """A session that stops answering expires within about a third of a timeout after it: with
    `session-timeout: 3` and the default 5 s heartbeat, the heartbeat runs every second."""
    raw = {"cloud-provider": "local", "deployment-name": "d", "heartbeat-frequency": heartbeat}
    if timeout is not None:
        raw["session-timeout"] = timeout
    config = Config.deserialize(raw)
    assert config.heartbeat_interval == pytest.approx(interval)
    assert FunctionSettings.from_config(config).heartbeat_interval == pytest.approx(interval)


def test_aws_user_storage_is_hybrid_unless_the_config_names_one():
    aws = {"cloud-provider": "aws", "deployment-name": "dev", "deployment-region": "us-east-1"}
    assert Config.deserialize(aws).user_storage is StorageType.HYBRID
    for named in ("persistent", "key-value", "hybrid"):
        assert Config.deserialize({**aws, "user-storage": named}).user_storage.value == named
    assert Config.deserialize({**aws, "cloud-provider": "local"}).user_storage is StorageType.PERSISTENT
    written = Config.deserialize(aws).serialize()
    assert written["user-storage"] == "hybrid", "a written config names the storage it was deployed with"
