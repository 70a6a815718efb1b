"""Environment profiles: config models, resolution, credentials as the SDK's TEMPORAL_* variables, protected profiles."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness import profiles, runner, server
from harness.cli import main
from harness.config.loader import validate
from harness.config.models import ReadinessConfig
from harness.errors import ConfigError
from harness.planning import json_schemas, load_plan
from harness.scenarios.registry import KINDS
from tests.conftest import REPO, relocated, write

SECRET = f"sk-unit-{uuid.uuid4().hex}"


def config_with(profiles_data: dict) -> ReadinessConfig:
    return validate({**relocated(REPO / "readiness.yaml"), "profiles": profiles_data}, ReadinessConfig, "readiness.yaml")


def config_error(profiles_data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config_with(profiles_data)
    return caught.value


def write_config(tmp_path: Path, profiles_data: dict) -> Path:
    return write(tmp_path / "readiness.yaml", yaml.safe_dump({**relocated(REPO / "readiness.yaml"), "profiles": profiles_data}))


def test_every_scenario_kind_says_what_it_does_to_a_protected_profile():
    assert KINDS.names and all(kind.effect.strip() for kind in KINDS)
    with pytest.raises(ValueError, match="what it does to the environment"):
        dataclasses.replace(KINDS["worker_restart"], effect=" ")


@pytest.mark.parametrize(
    ("key", "value", "key_path", "fragment"),
    [
        ("api_key", SECRET, "profiles.staging.api_key", "secrets are never written in the config"),
        ("api_key", 12345678, "profiles.staging.api_key", "secrets are never written in the config"),
        ("api_key", {"env": SECRET}, "profiles.staging.api_key", "name of an environment variable"),
        ("api_key", {"env": "A", "file": "b"}, "profiles.staging.api_key", "exactly one of `env`"),
        ("tls", {"client_key": SECRET, "client_cert": {"file": "c.pem"}}, "profiles.staging.tls.client_key", "never written"),
        ("tls", {"client_cert": {"file": "c.pem"}}, "profiles.staging.tls", "both client_cert and client_key"),
        ("tls", SECRET, "profiles.staging.tls", "expected true, false or a mapping"),
    ],
    ids=["key-literal", "key-number", "key-in-env-name", "env-and-file", "tls-key-literal", "tls-cert-without-key", "tls-literal"],
)
def test_a_secret_written_in_the_config_is_refused_without_repeating_it(key, value, key_path, fragment):
    error = config_error({"staging": {"address": "staging.example:7233", key: value}})
    assert error.key_path == key_path and fragment in str(error)
    assert SECRET not in str(error) and "12345678" not in str(error)


def test_profile_names_addresses_and_the_local_profile_are_checked():
    assert "local` profile is this config's `target`" in str(config_error({"local": {"api_key": {"env": "KEY"}}}))
    assert "needs an `address`" in str(config_error({"staging": {"namespace": "ns"}}))
    assert config_error({"bad name": {"address": "a:1"}}).key_path.startswith("profiles.bad name")
    assert config_error({"staging": {"address": "no-port"}}).key_path == "profiles.staging.address"
    assert "expected one of: address, api_key" in str(config_error({"staging": {"address": "a:1", "apikey": {"env": "K"}}}))
    config_with({"local": {"namespace": "other"}, "compose": {"address": "10.0.0.5:7233"}})  # overriding built-ins is allowed


def test_shipped_config_declares_staging_and_a_protected_production_without_needing_their_variables(monkeypatch):
    monkeypatch.delenv("TEMPORAL_PROD_API_KEY", raising=False)
    plan = load_plan(REPO / "readiness.yaml")
    assert plan.config.profiles["production"].protected and not plan.config.profiles["staging"].protected
    assert profiles.resolve("local", plan.config, plan.config_path).address is None
    with pytest.raises(ConfigError, match="TEMPORAL_PROD_API_KEY is not set") as caught:
        profiles.resolve("production", plan.config, plan.config_path)
    assert caught.value.key_path == "profiles.production.api_key" and caught.value.file == str(plan.config_path)


def test_unknown_profile_lists_the_known_ones():
    config = config_with({"staging": {"address": "s:7233"}})
    with pytest.raises(ConfigError, match=r"unknown profile 'prod' \(known: compose, local, staging\)"):
        profiles.resolve("prod", config)
    with pytest.raises(ConfigError, match=r"\(known: compose, local\)"):
        profiles.resolve("staging", None)


def test_built_ins_exist_without_a_config_and_declarations_override_them():
    assert profiles.resolve("compose", None).address == "127.0.0.1:7233"
    config = config_with({"compose": {"address": "10.0.0.5:7233"}, "local": {"namespace": "orders"}})
    compose = profiles.resolve("compose", config)
    assert compose.address == "10.0.0.5:7233" and compose.prometheus_targets == profiles.BUILT_IN["compose"].prometheus_targets
    assert compose.scrape_host == "host.docker.internal" and compose.namespace == "default"
    local = profiles.resolve("local", config)
    assert local.address is None and local.namespace == "orders"


def test_local_points_at_an_existing_target_of_the_config():
    data = {**relocated(REPO / "readiness.yaml"), "target": {"kind": "existing", "address": "temporal.internal:7233", "namespace": "ops"}}
    local = profiles.resolve("local", validate(data, ReadinessConfig, "r.yaml"))
    assert (local.address, local.namespace) == ("temporal.internal:7233", "ops")


def test_credentials_become_the_sdk_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGING_KEY", f"  {SECRET}\n")
    monkeypatch.setenv("CLIENT_KEY_PEM", "-----BEGIN KEY-----")
    write(tmp_path / "certs" / "ca.pem", "ca")
    write(tmp_path / "certs" / "client.pem", "cert")
    config_file = write_config(tmp_path, {
        "staging": {
            "address": "s:7233", "api_key": {"env": "STAGING_KEY"},
            "tls": {"ca_cert": {"file": "certs/ca.pem"}, "client_cert": {"file": "certs/client.pem"},
                    "client_key": {"env": "CLIENT_KEY_PEM"}, "server_name": "staging.internal"},
        },
        "plain": {"address": "p:7233", "api_key": {"file": "certs/../key.txt"}, "tls": False},
    })
    write(tmp_path / "key.txt", SECRET + "\n")
    plan = load_plan(config_file)
    staging = profiles.resolve("staging", plan.config, config_file)
    assert profiles.credential_env(staging) == {
        "TEMPORAL_API_KEY": SECRET, "TEMPORAL_TLS": "true",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str((tmp_path / "certs/ca.pem").resolve()),
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str((tmp_path / "certs/client.pem").resolve()),
        "TEMPORAL_TLS_CLIENT_KEY_DATA": "-----BEGIN KEY-----", "TEMPORAL_TLS_SERVER_NAME": "staging.internal",
    }
    plain = profiles.resolve("plain", plan.config, config_file)
    assert profiles.credential_env(plain) == {"TEMPORAL_API_KEY": SECRET, "TEMPORAL_TLS": "false"}
    # the harness's client reads them with the SDK's envconfig, as the workers do
    options = server.connect_options(server.Target("existing", "p:7233", "ns"), profiles.client_env(plain))
    assert options["api_key"] == SECRET and options["tls"] is False and options["target_host"] == "p:7233"


@pytest.mark.parametrize(
    ("reference", "files", "environ", "fragment"),
    [
        ({"env": "NOT_SET_ANYWHERE"}, {}, {}, "environment variable NOT_SET_ANYWHERE is not set"),
        ({"env": "BLANK_KEY"}, {}, {"BLANK_KEY": "  "}, "environment variable BLANK_KEY is empty"),
        ({"file": "secrets/missing.key"}, {}, {}, "secrets/missing.key does not exist"),
        ({"file": "secrets/empty.key"}, {"secrets/empty.key": "\n"}, {}, "secrets/empty.key is empty"),
    ],
)
def test_an_unusable_secret_reference_names_the_key_path_and_the_reference(tmp_path, monkeypatch, reference, files, environ, fragment):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for name, text in files.items():
        write(tmp_path / name, text)
    config_file = write_config(tmp_path, {"staging": {"address": "s:7233", "api_key": reference}})
    with pytest.raises(ConfigError) as caught:
        profiles.resolve("staging", load_plan(config_file).config, config_file)
    assert fragment in str(caught.value) and caught.value.key_path == "profiles.staging.api_key"
    assert caught.value.file == str(config_file.resolve())


def test_declared_credentials_replace_inherited_ones_and_none_declared_keeps_them(monkeypatch):
    inherited = {"TEMPORAL_API_KEY": "another-environments-key", "TEMPORAL_TLS_CLIENT_CERT_PATH": "/x.pem", "PATH": "/bin", "KEY": SECRET}
    config = config_with({"staging": {"address": "s:7233", "api_key": {"env": "KEY"}}, "open": {"address": "o:7233"}})
    env = profiles.client_env(profiles.resolve("staging", config, check_secrets=False), inherited)
    assert env["TEMPORAL_API_KEY"] == SECRET and "TEMPORAL_TLS_CLIENT_CERT_PATH" not in env and env["PATH"] == "/bin"
    assert profiles.client_env(profiles.resolve("open", config), inherited) == inherited


def test_repr_shows_references_never_secrets(monkeypatch):
    monkeypatch.setenv("KEY", SECRET)
    config = config_with({"staging": {"address": "s:7233", "api_key": {"env": "KEY"}, "tls": {"ca_cert": {"env": "KEY"}}}})
    profile = profiles.resolve("staging", config)
    assert profiles.credential_env(profile)["TEMPORAL_API_KEY"] == SECRET
    for text in (repr(profile), str(profile), f"{profile}", repr([profile])):
        assert SECRET not in text and "api_key=env:KEY" in text and "ca_cert=env:KEY" in text


def test_protected_profile_refuses_scenarios_naming_them_and_the_read_only_commands(tmp_path):
    plan = load_plan(REPO / "readiness.yaml", ["worker-restart", "retry-outage"])
    production = profiles.Profile("production", address="p:7233", protected=True)
    with pytest.raises(ConfigError) as caught:
        runner.preflight(plan, runner.RunOptions(out_dir=tmp_path / "out", profile=production))
    message = str(caught.value)
    assert "profile 'production' is protected" in message and "worker-restart (starts workflows and kills every worker" in message
    assert "retry-outage (takes a dependency down and generates load)" in message
    assert all(command in message for command in ("readiness replay --from-cluster", "readiness watch", "readiness parity"))
    assert not (tmp_path / "out").exists()
    profiles.refuse_if_protected(profiles.Profile("staging", address="s:7233"), [(s.name, "kills workers") for s in plan.scenarios])


def test_connect_needs_a_profile_with_an_address():
    with pytest.raises(ConfigError, match="profile 'local' has no address"):
        asyncio.run(profiles.connect(profiles.BUILT_IN["local"]))


def test_schema_documents_profiles():
    schema = json_schemas()["config"]
    assert "profiles" in schema["properties"]
    assert {"address", "namespace", "api_key", "tls", "protected", "differences"} <= set(schema["$defs"]["ProfileConfig"]["properties"])
    assert {"type": "boolean"} in schema["$defs"]["TlsSettings"]["anyOf"]


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_cli_refuses_unknown_profiles_and_protected_ones_before_touching_the_report_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PROD_KEY", SECRET)
    config_file = write_config(tmp_path, {"production": {"address": "p:7233", "api_key": {"env": "PROD_KEY"}, "protected": True}})
    cli = CliRunner()
    out = tmp_path / "out"
    line = one_error_line(cli.invoke(main, ["run", "--config", str(config_file), "--profile", "prod", "--out", str(out)]))
    assert "--profile: unknown profile 'prod' (known: compose, local, production)" in line
    line = one_error_line(cli.invoke(main, ["run", "--config", str(config_file), "--profile", "production", "--out", str(out)]))
    assert "profile 'production' is protected" in line and "worker-restart" in line and SECRET not in line
    line = one_error_line(cli.invoke(main, ["capture", "--config", str(config_file), "--profile", "production", "--out", str(out)]))
    assert "profile 'production' is protected" in line
    assert not out.exists()


def test_cli_replay_checks_the_profile_before_connecting(tmp_path, monkeypatch):
    monkeypatch.delenv("PROD_KEY", raising=False)
    config_file = write_config(tmp_path, {"production": {"address": "p:7233", "api_key": {"env": "PROD_KEY"}, "protected": True}})
    cli = CliRunner()
    base = ["replay", "--workflows", "sample_workflows.orders:OrderWorkflow", "--config", str(config_file)]
    line = one_error_line(cli.invoke(main, [*base, "--from-cluster", "--query", "WorkflowType='OrderWorkflow'", "--profile", "production"]))
    assert "profiles.production.api_key: environment variable PROD_KEY is not set" in line
    line = one_error_line(cli.invoke(main, [*base, "--from-cluster", "--query", "x", "--profile", "staging"]))
    assert "unknown profile 'staging'" in line
    line = one_error_line(cli.invoke(main, [*base, str(tmp_path), "--profile", "production"]))
    assert "only apply with --from-cluster" in line
    line = one_error_line(cli.invoke(main, [*base, "--from-cluster", "--query", "x", "--profile", "local"]))
    assert "profile 'local' has no address" in line



def test_dependencies_never_get_the_profiles_credentials():
    from harness.runner import without_credentials

    env = {"TEMPORAL_API_KEY": "sk-x", "TEMPORAL_TLS_CLIENT_KEY": "k", "TEMPORAL_ADDRESS": "h:1", "PATH": "/bin"}
    assert without_credentials(env) == {"TEMPORAL_ADDRESS": "h:1", "PATH": "/bin"}


def test_a_run_sent_elsewhere_with_address_is_recorded_apart_from_its_profile(tmp_path):
    from harness.runner import RunOptions, recorded_profile

    assert recorded_profile(RunOptions(out_dir=tmp_path)) == "local"
    assert recorded_profile(RunOptions(out_dir=tmp_path, address="10.0.0.5:7233")) == "local@10.0.0.5:7233"
