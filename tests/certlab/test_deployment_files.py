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
    assert "--pool=prefork" in services["worker"]["command"]
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


def test_compose_passive_ftp_ports_match_the_published_range():
    ftp = _compose()["services"]["ftp"]
    low, high = ftp["environment"]["CERTLAB_FTP_PASSIVE_PORTS"].split("-")
    assert f"{low}-{high}:{low}-{high}" in ftp["ports"]


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


def test_healthz_answers_for_the_container_healthcheck(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
