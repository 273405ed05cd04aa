"""No Docker engine runs here: these read the deployment files and check what the distributed
mode depends on, so a broken edit fails here rather than on a lab's server."""

import re
import shlex

import yaml

from tests.processes import ROOT


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_process_of_the_distributed_mode():
    services = _compose()["services"]
    assert {"web", "worker", "ftp", "redis", "postgres"} <= services.keys()
    assert services["web"]["command"][0] == "daphne"
    assert services["worker"]["command"][:3] == ["celery", "-A", "certlab"]
    assert "--pool=threads" in services["worker"]["command"]
    assert services["ftp"]["command"] == ["python", "manage.py", "ftpserver"]


def test_compose_services_share_one_configuration_pointing_at_the_real_services():
    services = _compose()["services"]
    for name in ("web", "worker", "ftp", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert "media:/data" in services[name]["volumes"]


def test_compose_declares_its_volumes_and_waits_for_healthy_services():
    compose = _compose()
    assert {"database", "media"} <= compose["volumes"].keys()
    assert "database:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    web = compose["services"]["web"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "redis"):
        assert "healthcheck" in compose["services"][name]


def test_dockerfile_is_multi_stage_non_root_with_static_files_and_a_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM .+ AS (\w+)$", dockerfile, re.MULTILINE)
    assert stages == ["build", "runtime"]
    assert re.search(r"^USER certlab$", dockerfile, re.MULTILINE)
    assert "collectstatic --no-input" in dockerfile
    healthcheck = re.search(r"^HEALTHCHECK .*\n\s+CMD (.+)$", dockerfile, re.MULTILINE)
    assert healthcheck and "/healthz" in healthcheck.group(1)
    cmd = re.search(r"^CMD \[(.+)\]$", dockerfile, re.MULTILINE).group(1)
    assert shlex.split(cmd.replace(",", " "))[0] == "daphne"


def _env_defaults(value: str) -> str:
    """``${NAME:-default}`` as docker compose reads it when NAME is unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_no_env_file_or_local_data_goes_into_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".env.*", "var", ".venv"} <= set(ignored)


def test_compose_requires_the_secrets_and_the_public_host_instead_of_defaulting_them():
    env = _compose()["services"]["web"]["environment"]
    for name in ("SECRET_KEY", "CERTLAB_PUBLIC_HOST", "CERTLAB_FTP_MASQUERADE_ADDRESS"):
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", env[name]), name
    assert ":?" in env["DATABASE_URL"] and ":-" not in env["DATABASE_URL"]
    assert "localhost" not in yaml.safe_dump(env)


def test_compose_sends_stations_the_ports_it_publishes():
    services = _compose()["services"]
    web_env, ftp = services["web"]["environment"], services["ftp"]
    web_host_port, web_container_port = services["web"]["ports"][0].rsplit(":", 1)
    assert web_host_port == "${CERTLAB_PUBLIC_HTTP_PORT:-8000}"
    assert web_env["CERTLAB_PUBLIC_HTTP_PORT"] == web_host_port
    assert web_container_port == web_env["CERTLAB_HTTP_PORT"] == services["web"]["command"][4]
    ftp_host_port, ftp_container_port = ftp["ports"][0].rsplit(":", 1)
    assert ftp["environment"]["CERTLAB_PUBLIC_FTP_PORT"] == ftp_host_port
    assert ftp_container_port == ftp["environment"]["CERTLAB_FTP_PORT"]


def test_compose_publishes_the_passive_ftp_range_one_to_one_and_the_image_exposes_it():
    ftp = _compose()["services"]["ftp"]
    passive = ftp["environment"]["CERTLAB_FTP_PASSIVE_PORTS"]
    assert f"{passive}:{passive}" in ftp["ports"]
    exposed = re.search(r"^EXPOSE (.+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert _env_defaults(passive) in exposed.group(1).split()


def test_compose_creates_demo_data_only_on_request():
    migrate = _compose()["services"]["migrate"]
    script = migrate["command"][-1]
    assert "seed_demo" in script
    assert re.search(r'if \[ "\$\$CERTLAB_DEMO" = true \]; then python manage.py seed_demo', script)
    assert migrate["environment"]["CERTLAB_DEMO"] == "${CERTLAB_DEMO:-false}"


def test_each_process_has_its_own_health_check_and_the_worker_checks_its_own_node():
    services = _compose()["services"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    worker = services["worker"]
    assert "--hostname=worker@%h" in worker["command"]
    test = worker["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "inspect ping --destination worker@$$HOSTNAME" in test[1]
    assert "2121" in " ".join(services["ftp"]["healthcheck"]["test"])
    assert services["migrate"]["healthcheck"] == {"disable": True}


def _duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", text))


def test_worker_grace_period_lets_an_attempt_end_and_web_gets_time_to_close_sockets():
    from campaigns.engine.params import LabParameters
    from campaigns.execution import time_limit

    services = _compose()["services"]
    assert _duration(services["worker"]["stop_grace_period"]) >= time_limit(LabParameters())
    assert _duration(services["web"]["stop_grace_period"]) >= 15


def test_broker_redis_keeps_its_queue_on_a_volume_across_restarts():
    compose = _compose()
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "redis:/data" in redis["volumes"]
    assert "redis" in compose["volumes"]


def test_healthz_answers_when_database_redis_and_static_files_are_there(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "static_files": "ok"},
    }


def test_healthz_is_503_naming_the_missing_static_files_manifest(client, db, settings, tmp_path):
    settings.STATIC_ROOT = str(tmp_path / "never-collected")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert "manifest" in body["checks"]["static_files"]
    assert body["checks"]["database"] == "ok"


def test_healthz_is_503_naming_redis_when_it_does_not_answer(client, db, settings):
    from tests.processes import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "Connection" in response.json()["checks"]["redis"]


def test_healthz_is_503_when_static_files_were_collected_before_a_release_added_some(
    client, db, settings, tmp_path
):
    import json

    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"css/certlab.css": "css/certlab.0123456789ab.css"}})
    )
    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "static files not collected" in response.json()["checks"]["static_files"]
