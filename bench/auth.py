"""Token verification cost: warm JWKS cache vs fetching the JWKS per request.

    make bench-auth

Both sides verify the same RS256 tokens with chalicelib.accounts.verifier.TokenVerifier,
against a JWKS served over HTTPS on loopback (a self-signed certificate made
for the run): the cheapest possible fetch, as a real provider is also a
network round trip away, tens of milliseconds. "Warm" is a
verifier living across requests, as in a warm Lambda container; "per-request
fetch" builds a new key cache for every request, which is what samples that
call the JWKS URL inside the handler do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import ssl
import statistics
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from chalicelib.accounts.verifier import AuthSettings, JwksCache, TokenVerifier
from tests.support.keys import SigningKey, claims, jwks

from .common import percentile

ISSUER = "https://idp.bench.local/"
AUDIENCE = "https://api.bench.local"


def self_signed_tls(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def serve_jwks(document: dict[str, Any], cert_file: Path, key_file: Path) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"


def timed(fn: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args(argv)

    key = SigningKey.generate("bench-key")
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = self_signed_tls(Path(tmp))
        server, url = serve_jwks(jwks(key), cert_file, key_file)
        trust = ssl.create_default_context(cafile=str(cert_file))

    def fetch(jwks_url: str) -> dict[str, Any]:
        """chalicelib.accounts.verifier.fetch_json's request, trusting the run's certificate."""
        with urllib.request.urlopen(jwks_url, timeout=3, context=trust) as response:
            return dict(json.loads(response.read()))

    settings = AuthSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=url, roles_claim="roles", cognito=False)
    header = "Bearer " + key.sign(claims(ISSUER, aud=AUDIENCE, exp=int(time.time()) + 3600, roles=["admin"]))

    warm = TokenVerifier(settings, jwks=JwksCache(url, fetch=fetch))
    warm.verify(header)  # the container's first request fetched the keys
    warm_ms = timed(lambda: warm.verify(header), args.runs)
    cold_ms = timed(
        lambda: TokenVerifier(settings, jwks=JwksCache(url, fetch=fetch)).verify(header), max(args.runs // 5, 50)
    )
    server.shutdown()

    rows = [("warm JWKS cache", warm_ms), ("JWKS fetched per request", cold_ms)]
    print("| verification | runs | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for label, samples in rows:
        print(f"| {label} | {len(samples)} | {statistics.median(samples):.3f} | {percentile(samples, 99):.3f} |")
    ratio = statistics.median(cold_ms) / statistics.median(warm_ms)
    ratio99 = percentile(cold_ms, 99) / percentile(warm_ms, 99)
    print(f"\nper-request fetch / warm: {ratio:.0f}x at p50, {ratio99:.0f}x at p99 (targets: warm p99 <= 1 ms, >= 50x)")
    print(f"JWKS fetches by the warm verifier: {warm.jwks.fetches}")


if __name__ == "__main__":
    main()
