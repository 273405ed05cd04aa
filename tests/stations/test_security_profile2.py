"""OCPP security profile 2: basic auth over TLS. Daphne serves ``wss://`` itself (its Twisted
``ssl:`` endpoint); a station that trusts the lab's CA boots over it, one that does not is
refused by TLS before OCPP starts.

The CA and the server certificate are made here, for this run only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import ssl
from base64 import b64encode
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import websockets
from asgiref.sync import sync_to_async
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from ocpp.v16 import ChargePoint, call

from stations.models import Frame
from tests.factories import StationFactory
from tests.processes import daphne, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "profile-2-password"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_test_pki(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("CertLab test CA"))
        .issuer_name(_name("CertLab test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {
        "ca": directory / "ca.pem",
        "cert": directory / "server.pem",
        "key": directory / "server.key",
    }
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    # The chain the server presents: its certificate, then the CA's.
    pem = serialization.Encoding.PEM
    paths["cert"].write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths["key"].chmod(0o600)
    return paths


@pytest.fixture
def tls_daphne(transactional_db, tmp_path):
    """Daphne serving only wss:// with the test certificate; yields (port, CA file)."""
    pki = make_test_pki(tmp_path)
    db = settings.DATABASES["default"]
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "certlab.settings",
        "CERTLAB_DATA_DIR": os.environ.get("CERTLAB_DATA_DIR", ""),
    }
    port = free_port()
    server = daphne(port, log_path=tmp_path / "daphne-tls.log", env=env)
    endpoint = f"ssl:{port}:interface=127.0.0.1:privateKey={pki['key']}:certKey={pki['cert']}"
    server.args = [*server.args[:2], "daphne", "-e", endpoint, "certlab.asgi:application"]
    with server:
        wait_for_port(port)
        yield port, pki["ca"]


def _basic(charge_point_id: str) -> dict[str, str]:
    token = b64encode(f"{charge_point_id}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_station_trusting_the_lab_ca_boots_over_wss_with_basic_auth(tls_daphne):
    port, ca_file = tls_daphne
    station = await sync_to_async(StationFactory)()
    # Hashed the way daphne's settings check it (the tests' own hasher is a fast one).
    station.password_hash = PBKDF2PasswordHasher().encode(PASSWORD, "profile2salt", 1000)
    await sync_to_async(station.save)()
    trusted = ssl.create_default_context(cafile=str(ca_file))
    async with websockets.connect(
        f"wss://127.0.0.1:{port}/ocpp/{station.charge_point_id}",
        subprotocols=["ocpp1.6"],
        ssl=trusted,
        additional_headers=_basic(station.charge_point_id),
    ) as socket:
        assert socket.subprotocol == "ocpp1.6"
        assert socket.transport.get_extra_info("ssl_object").version().startswith("TLS")
        charge_point = ChargePoint(station.charge_point_id, socket)
        task = asyncio.create_task(charge_point.start())
        boot = await charge_point.call(
            call.BootNotification(charge_point_model="M1", charge_point_vendor="V1")
        )
        assert boot.status == "Accepted"
        task.cancel()
    deadline = asyncio.get_running_loop().time() + 10
    while await sync_to_async(Frame.objects.filter(station=station).count)() < 2:
        assert asyncio.get_running_loop().time() < deadline, "boot frames not saved"
        await asyncio.sleep(0.05)


async def test_station_not_trusting_the_lab_ca_is_refused_by_tls(tls_daphne):
    port, _ = tls_daphne
    station = await sync_to_async(StationFactory)()
    with pytest.raises(ssl.SSLCertVerificationError):
        await websockets.connect(
            f"wss://127.0.0.1:{port}/ocpp/{station.charge_point_id}",
            subprotocols=["ocpp1.6"],
            ssl=ssl.create_default_context(),
        )


async def test_plain_ws_is_not_served_on_the_tls_port(tls_daphne):
    port, _ = tls_daphne
    with pytest.raises((websockets.exceptions.InvalidMessage, ConnectionError, EOFError)):
        await websockets.connect(f"ws://127.0.0.1:{port}/ocpp/CP-X", subprotocols=["ocpp1.6"])
