#!/usr/bin/env python3
"""A registry token service as docker-registry's `auth: token` expects one, for the tests.

usage: token-server.py PORT KEY.pem CERT.pem USER PASSWORD ISSUER SERVICE LOG

GET /token?service=…&scope=repository:NAME:ACTIONS with HTTP Basic for USER:PASSWORD answers
{"token": …}: a JWT signed ES256 with KEY, its certificate in the x5c header (the registry trusts
CERT as its root bundle), granting the scopes asked for. Without the login it answers 401. Every
request is appended to LOG as one JSON line (path, whether it was authenticated), so a test can
see which scopes a client asked for.
"""
import base64, json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

port, key_path, cert_path, user, password, issuer, service, log_path = sys.argv[1:9]
with open(key_path, "rb") as handle:
    key = serialization.load_pem_private_key(handle.read(), password=None)
with open(cert_path, "rb") as handle:
    certificate = x509.load_pem_x509_certificate(handle.read())
expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(subject, access):
    header = {"typ": "JWT", "alg": "ES256",
              "x5c": [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]}
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": b64url(os.urandom(12)), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        authenticated = self.headers.get("Authorization") == expected
        with open(log_path, "a") as handle:
            handle.write(json.dumps({"path": self.path, "authenticated": authenticated}) + "\n")
        if url.path != "/token" or not authenticated:
            self.send_response(401 if url.path == "/token" else 404)
            self.end_headers()
            return
        access = []
        for scope in parse_qs(url.query).get("scope", []):
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        body = json.dumps({"token": token(user, access), "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass


HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
