# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the Microsoft identity platform's token endpoint and Microsoft Graph's Defender for Identity
APIs: one real HTTPS server on 127.0.0.1 (certificate from its own trustme CA), answering in the documented shapes.

* ``POST /{tenant}/oauth2/v2.0/token`` (MicrosoftDocs/entra-docs ``v2-oauth2-client-creds-grant-flow.md``): the
  client credentials grant with ``client_secret`` or a ``client_assertion`` (``certificate-credentials.md``); the
  assertion is verified as Entra ID would: ``alg`` PS256, ``x5t#S256`` of the registered certificate, the PSS
  signature, ``aud`` (this token URL), ``iss`` = ``sub`` = the client id, ``nbf``/``exp`` (at most 10 minutes),
  a ``jti`` never seen before. Success: ``{token_type, expires_in, access_token}``; failure: ``{error,
  error_description: "AADSTSnnnn: ...\\r\\nTrace ID: ...", error_codes, timestamp, trace_id, correlation_id,
  error_uri}`` (400, or 401 for ``invalid_client``).
* ``GET /v1.0/security/identities/sensors`` and ``GET /v1.0/security/identities/healthIssues`` (microsoft-graph-docs
  -contrib ``api-reference/v1.0``): ``{"@odata.context", "value": [...], "@odata.nextLink"}`` pages of
  ``page_size`` items (the next link carries ``$skiptoken``); ``$filter=Status eq 'open'`` as the list page's
  example writes it (any other filter is a 400). A token without the application permission of the API is refused
  with 403 and Graph's error body ``{"error": {"code", "message", "innerError": {"request-id", "date"}}}``; an
  unknown token with 401 ``InvalidAuthenticationToken``.
* ``faults``: answers served before the normal ones, per route (``token``, ``sensors``, ``healthIssues``), e.g.
  ``(429, {"Retry-After": "1"})``; ``next_link_host`` sends the next link to another host.
* ``requests`` logs each request: ``{method, route, query, at, authorized}`` (no secret).
"""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import ssl
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import trustme
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.lab.network import _ThreadedServer

SENSORS = "security/identities/sensors"
ISSUES = "security/identities/healthIssues"
PERMISSIONS = {SENSORS: "SecurityIdentitiesSensors.Read.All", ISSUES: "SecurityIdentitiesHealth.Read.All"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def sensor(name: str, domain: str = "corp.example", status: str = "upToDate", health: str = "healthy",
           version: str = "2.239.18124.58593", sensor_type: str = "domainControllerIntegrated", issues: int = 0,
           dc_names=None) -> dict:
    """A sensor object as resources/security-sensor.md shows it (the list page's example, in its order)."""
    return {
        "@odata.type": "#microsoft.graph.security.sensor",
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, "%s.%s" % (name, domain))),
        "displayName": name,
        "sensorType": sensor_type,
        "version": version,
        "deploymentStatus": status,
        "createdDateTime": "2023-11-16T09:41:24.2585071Z",
        "domainName": domain,
        "healthStatus": health,
        "openHealthIssuesCount": issues,
        "settings": {
            "@odata.type": "microsoft.graph.security.sensorSettings",
            "description": "%s settings" % name.lower(),
            "domainControllerDnsNames": list(dc_names if dc_names is not None else ["%s.%s" % (name, domain)]),
            "isDelayedDeploymentEnabled": True,
        },
    }


def health_issue(display_name: str, sensor_dns_names, severity: str = "medium", status: str = "open",
                 recommendation: str = "", issue_type: str = "sensor", issue_type_id: str = "1008") -> dict:
    """A healthIssue object as resources/security-healthissue.md shows it."""
    return {
        "@odata.type": "#microsoft.graph.security.healthIssue",
        "additionalInformation": [],
        "createdDateTime": "2026-11-02T08:19:27.7211305Z",
        "description": "%s on %s" % (display_name, ", ".join(sensor_dns_names)),
        "displayName": display_name,
        "domainNames": sorted({n.split(".", 1)[1] for n in sensor_dns_names if "." in n}),
        "healthIssueType": issue_type,
        "id": str(uuid.uuid4()),
        "issueTypeId": issue_type_id,
        "lastModifiedDateTime": "2026-11-02T08:24:27.7211305Z",
        "recommendations": [recommendation] if recommendation else [],
        "recommendedActionCommands": [],
        "sensorDNSNames": list(sensor_dns_names),
        "severity": severity,
        "status": status,
    }


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: dict | None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, route: str) -> bool:
        graph = self.server.graph
        with graph.lock:
            queue = graph.faults.get(route) or []
            fault = queue.pop(0) if queue else None
        if fault is None:
            return False
        status, headers = fault[0], fault[1] if len(fault) > 1 else {}
        body = fault[2] if len(fault) > 2 else {"error": {"code": "TooManyRequests" if status == 429 else
                                                          "serviceNotAvailable", "message": "Please retry later.",
                                                          "innerError": graph.inner()}}
        self._send(status, body, headers)
        return True

    def do_POST(self):  # noqa: N802 (http.server naming)
        graph = self.server.graph
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("ascii")).items()}
        segments = parts.path.strip("/").split("/")
        graph.log("POST", "token", parts.query, False)
        if len(segments) != 4 or segments[1:] != ["oauth2", "v2.0", "token"]:
            return self._send(404, {"error": "not_found"})
        if self._fault("token"):
            return None
        status, body = graph.token_answer(segments[0], form)
        return self._send(status, body)

    def do_GET(self):  # noqa: N802
        graph = self.server.graph
        parts = urlsplit(self.path)
        path = parts.path.strip("/")
        route = path.split("/", 1)[1] if "/" in path else path
        token = (self.headers.get("Authorization") or "").partition("Bearer ")[2]
        graph.log("GET", route.rsplit("/", 1)[-1], parts.query, bool(token))
        if route not in (SENSORS, ISSUES) or not path.startswith("v1.0/"):
            return self._send(404, {"error": {"code": "ResourceNotFound", "message": "Resource not found for the "
                                              "segment '%s'." % path.rsplit("/", 1)[-1], "innerError": graph.inner()}})
        if self._fault(route.rsplit("/", 1)[-1]):
            return None
        roles = graph.tokens.get(token)
        if roles is None:
            return self._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token "
                                              "validation failure. Invalid audience.", "innerError": graph.inner()}})
        if PERMISSIONS[route] not in roles:
            return self._send(403, {"error": {"code": "Forbidden", "message": "Missing application roles. API "
                                              "required roles: %s." % PERMISSIONS[route], "innerError": graph.inner()}})
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        items = graph.collection(route)
        wanted = query.get("$filter")
        if wanted is not None:
            if wanted != "Status eq 'open'":
                return self._send(400, {"error": {"code": "BadRequest", "message": "Invalid filter clause",
                                                  "innerError": graph.inner()}})
            items = [i for i in items if i.get("status") == "open"]
        start = int(query.get("$skiptoken") or 0)
        page = items[start:start + graph.page_size]
        body = {"@odata.context": "%s/v1.0/$metadata#%s" % (graph.url, route), "value": page}
        if start + graph.page_size < len(items):
            following = dict(query, **{"$skiptoken": str(start + graph.page_size)})
            base = graph.next_link_host or graph.url
            body["@odata.nextLink"] = "%s/v1.0/%s?%s" % (base, route, urlencode(following))
        return self._send(200, body)


class FakeGraph(_ThreadedServer):  # start, stop and the context manager
    """The token service and Graph on one HTTPS port; ``url`` is both the authority and the Graph endpoint."""

    def __init__(self, directory, *, tenant: str = "contoso.onmicrosoft.com", client_id: str | None = None,
                 client_secret: str = "s3cret", certificate: bytes | None = None, sensors=(), issues=(),
                 page_size: int = 100, roles=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        self.ca_file = self.dir / "graph-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        cert = self.ca.issue_cert("localhost", "127.0.0.1")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.tenant = tenant
        self.client_id = client_id or str(uuid.uuid4())
        self.client_secret = client_secret
        self.certificate = x509.load_pem_x509_certificate(certificate) if certificate else None
        self.sensors = list(sensors)
        self.issues = list(issues)
        self.page_size = page_size
        self.roles = set(PERMISSIONS.values() if roles is None else roles)
        self.faults: dict = {}
        self.next_link_host = None
        self.tokens: dict = {}
        self.requests: list = []
        self.jtis: set = set()
        self.reads = {SENSORS: 0, ISSUES: 0}
        self.on_read = None  # callable(route, count) run before a collection is served
        self.lock = threading.Lock()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.graph = self
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # -- helpers --------------------------------------------------------------------------------
    def log(self, method: str, route: str, query: str, authorized: bool) -> None:
        with self.lock:
            self.requests.append({"method": method, "route": route, "query": query, "at": time.monotonic(),
                                  "authorized": authorized})

    def routes(self) -> list:
        return [r["route"] for r in self.requests]

    @staticmethod
    def inner() -> dict:
        return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),  # noqa: UP017
                "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}

    def collection(self, route: str) -> list:
        with self.lock:
            self.reads[route] += 1
            count = self.reads[route]
        if self.on_read is not None:
            self.on_read(route, count)
        return list(self.sensors if route == SENSORS else self.issues)

    def fault(self, route: str, *answers) -> None:
        with self.lock:
            self.faults.setdefault(route, []).extend(answers)

    # -- the token service ------------------------------------------------------------------------
    def _token_error(self, status: int, error: str, code: int, text: str) -> tuple:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")  # noqa: UP017
        return status, {
            "error": error,
            "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s"
                                 % (code, text, trace, correlation, stamp),
            "error_codes": [code], "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
            "error_uri": "%s/error?code=%d" % (self.url, code),
        }

    def token_answer(self, tenant: str, form: dict) -> tuple:
        if tenant != self.tenant:
            return self._token_error(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you "
                                     "have the correct tenant ID and are signing into the correct cloud." % tenant)
        if form.get("grant_type") != "client_credentials":
            return self._token_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant "
                                     "type.")
        if form.get("scope") != self.url + "/.default":
            return self._token_error(400, "invalid_scope", 70011, "The provided value for the input parameter "
                                     "'scope' is not valid. The scope %s is not valid." % form.get("scope"))
        if form.get("client_id") != self.client_id:
            return self._token_error(400, "unauthorized_client", 700016, "Application with identifier '%s' was not "
                                     "found in the directory '%s'." % (form.get("client_id"), tenant))
        if "client_assertion" in form:
            problem = self._assertion_problem(tenant, form)
            if problem:
                return self._token_error(401, "invalid_client", 700027, "Client assertion failed signature "
                                         "validation. %s" % problem)
        elif form.get("client_secret") != self.client_secret:
            return self._token_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                                     "secret being sent in the request is the client secret value, not the client "
                                     "secret ID, for a secret added to app '%s'." % self.client_id)
        token = "eyJ0eXAiOiJKV1QifQ.%s.fake" % uuid.uuid4().hex
        with self.lock:
            self.tokens[token] = set(self.roles)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    def _assertion_problem(self, tenant: str, form: dict) -> str:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return "client_assertion_type is %s" % form.get("client_assertion_type")
        if self.certificate is None:
            return "no certificate is registered on the application"
        try:
            head, body, signature = form["client_assertion"].split(".")
            header = json.loads(_b64url_decode(head))
            claims = json.loads(_b64url_decode(body))
        except (ValueError, KeyError):
            return "the assertion is not a JWT"
        if header.get("alg") != "PS256" or header.get("typ") != "JWT":
            return "alg/typ are %s/%s" % (header.get("alg"), header.get("typ"))
        thumbprint = base64.urlsafe_b64encode(self.certificate.fingerprint(hashes.SHA256())).rstrip(b"=").decode()
        if header.get("x5t#S256") != thumbprint:
            return "x5t#S256 names no registered certificate"
        try:
            self.certificate.public_key().verify(
                _b64url_decode(signature), ("%s.%s" % (head, body)).encode("ascii"),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        except InvalidSignature:
            return "the signature does not verify"
        now = time.time()
        if claims.get("aud") != "%s/%s/oauth2/v2.0/token" % (self.url, tenant):
            return "aud is %s" % claims.get("aud")
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "iss/sub are not the client id"
        if not (claims.get("nbf", now + 1) <= now + 60 and claims.get("exp", 0) > now
                and claims["exp"] - claims["nbf"] <= 600):
            return "nbf/exp out of range"
        jti = claims.get("jti")
        if not jti or jti in self.jtis:
            return "jti missing or replayed"
        self.jtis.add(jti)
        return ""
