"""Endpoint resolution, as the docker CLI does it, against temp config dirs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from batten.live.endpoint import (
    DEFAULT_HOST,
    EndpointError,
    context_dir_name,
    normalize_host,
    resolve_endpoint,
)
from batten.model import BattenError, UsageError


def make_context(
    cfg: Path, name: str, host: str, *, skip_tls: bool = False, tls: bool = False
) -> Path:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = cfg / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": name,
                "Metadata": {"Description": "test"},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_tls}},
            }
        )
    )
    tls_dir = cfg / "contexts" / "tls" / digest / "docker"
    if tls:
        tls_dir.mkdir(parents=True)
        for f in ("ca.pem", "cert.pem", "key.pem"):
            (tls_dir / f).write_text("-----BEGIN-----\n")
    return tls_dir


def set_current(cfg: Path, name: str) -> None:
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.json").write_text(json.dumps({"auths": {}, "currentContext": name}))


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    d = tmp_path / "docker-config"
    d.mkdir()
    return d


def test_default_socket_when_nothing_is_configured(cfg: Path) -> None:
    ep = resolve_endpoint(env={}, config_dir=cfg)
    assert ep.url == DEFAULT_HOST == "unix:///var/run/docker.sock"
    assert ep.source == "default"
    assert ep.context is None and ep.tls is None
    assert ep.display == "unix:///var/run/docker.sock (default)"
    assert ep.socket_path == "/var/run/docker.sock"


def test_explicit_host_wins_over_environment_and_config(cfg: Path) -> None:
    make_context(cfg, "remote", "ssh://deploy@prod")
    set_current(cfg, "remote")
    env = {"DOCKER_HOST": "tcp://10.0.0.1:2375", "DOCKER_CONTEXT": "remote"}
    ep = resolve_endpoint(host="unix:///run/user/1000/docker.sock", env=env, config_dir=cfg)
    assert (ep.url, ep.source) == ("unix:///run/user/1000/docker.sock", "--host")


def test_docker_host_wins_over_docker_context_and_current_context(cfg: Path) -> None:
    make_context(cfg, "remote", "ssh://deploy@prod")
    set_current(cfg, "remote")
    ep = resolve_endpoint(
        env={"DOCKER_HOST": "ssh://me@build:2222", "DOCKER_CONTEXT": "remote"}, config_dir=cfg
    )
    assert (ep.url, ep.source, ep.is_ssh) == ("ssh://me@build:2222", "DOCKER_HOST", True)
    assert ep.display == "ssh://me@build:2222 (from DOCKER_HOST)"


def test_explicit_context_wins_over_docker_host_as_in_the_cli(cfg: Path) -> None:
    make_context(cfg, "remote", "ssh://deploy@prod")
    ep = resolve_endpoint(context="remote", env={"DOCKER_HOST": "tcp://x:1"}, config_dir=cfg)
    assert (ep.url, ep.source, ep.context) == ("ssh://deploy@prod", "--context", "remote")
    assert ep.display == 'ssh://deploy@prod (context "remote")'


def test_host_and_context_together_are_a_usage_error(cfg: Path) -> None:
    with pytest.raises(UsageError, match="either specify --host or --context"):
        resolve_endpoint(host="unix:///x.sock", context="remote", env={}, config_dir=cfg)


def test_docker_context_env_then_current_context(cfg: Path) -> None:
    make_context(cfg, "a", "tcp://a.example:2375")
    make_context(cfg, "b", "tcp://b.example:2375")
    set_current(cfg, "b")
    ep = resolve_endpoint(env={"DOCKER_CONTEXT": "a"}, config_dir=cfg)
    assert (ep.url, ep.source, ep.context) == ("tcp://a.example:2375", "DOCKER_CONTEXT", "a")
    ep = resolve_endpoint(env={}, config_dir=cfg)
    assert (ep.url, ep.source, ep.context) == ("tcp://b.example:2375", "config.json", "b")


def test_docker_config_env_points_at_the_config_dir(cfg: Path) -> None:
    make_context(cfg, "remote", "ssh://deploy@prod")
    set_current(cfg, "remote")
    ep = resolve_endpoint(env={"DOCKER_CONFIG": str(cfg)})
    assert ep.url == "ssh://deploy@prod"


def test_default_context_by_name_means_docker_host_or_socket(cfg: Path) -> None:
    set_current(cfg, "default")
    assert resolve_endpoint(env={}, config_dir=cfg).url == DEFAULT_HOST
    ep = resolve_endpoint(context="default", env={"DOCKER_HOST": "tcp://h:2375"}, config_dir=cfg)
    assert (ep.url, ep.context) == ("tcp://h:2375", "default")


def test_context_store_tls_material_and_skip_verify(cfg: Path) -> None:
    tls_dir = make_context(cfg, "secure", "tcp://docker.example:2376", tls=True)
    ep = resolve_endpoint(context="secure", env={}, config_dir=cfg)
    assert ep.tls is not None and ep.tls.verify
    assert ep.tls.ca_cert == str(tls_dir / "ca.pem")
    assert ep.tls.client_cert == str(tls_dir / "cert.pem")
    assert ep.tls.client_key == str(tls_dir / "key.pem")
    assert "TLS (verified)" in ep.display

    make_context(cfg, "insecure", "tcp://docker.example:2376", skip_tls=True)
    ep = resolve_endpoint(context="insecure", env={}, config_dir=cfg)
    assert ep.tls is not None and not ep.tls.verify and ep.tls.ca_cert is None


def test_context_dir_is_sha256_of_the_name() -> None:
    assert context_dir_name("default") == hashlib.sha256(b"default").hexdigest()


def test_docker_tls_verify_and_cert_path(tmp_path: Path, cfg: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for f in ("ca.pem", "cert.pem", "key.pem"):
        (certs / f).write_text("x")
    env = {"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    ep = resolve_endpoint(env=env, config_dir=cfg)
    assert ep.tls is not None and ep.tls.verify
    assert ep.tls.ca_cert == str(certs / "ca.pem")
    # without DOCKER_TLS_VERIFY the CLI talks plain tcp
    env.pop("DOCKER_TLS_VERIFY")
    assert resolve_endpoint(env=env, config_dir=cfg).tls is None
    # TLS applies to tcp only
    ep = resolve_endpoint(
        env={"DOCKER_HOST": "unix:///s", "DOCKER_TLS_VERIFY": "1"}, config_dir=cfg
    )
    assert ep.tls is None


def test_unknown_context_is_one_clear_error(cfg: Path) -> None:
    with pytest.raises(EndpointError, match='context "nope" not found') as info:
        resolve_endpoint(context="nope", env={}, config_dir=cfg)
    assert isinstance(info.value, BattenError)
    assert "\n" not in str(info.value)


def test_broken_config_json_is_one_clear_error(cfg: Path) -> None:
    (cfg / "config.json").write_text("{not json")
    with pytest.raises(EndpointError, match="cannot read"):
        resolve_endpoint(env={}, config_dir=cfg)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", DEFAULT_HOST),
        ("unix://", DEFAULT_HOST),
        ("/var/run/docker.sock", "unix:///var/run/docker.sock"),
        ("unix:///tmp/d.sock", "unix:///tmp/d.sock"),
        ("tcp://1.2.3.4:2375", "tcp://1.2.3.4:2375"),
        ("1.2.3.4:2375", "tcp://1.2.3.4:2375"),
        ("ssh://user@host:2222", "ssh://user@host:2222"),
        ("ssh://alias", "ssh://alias"),
    ],
)
def test_normalize_host(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw", ["npipe:////./pipe/docker_engine", "ftp://x", "ssh://", "ssh://h:notaport"]
)
def test_normalize_host_rejects(raw: str) -> None:
    with pytest.raises(EndpointError):
        normalize_host(raw)
