# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, well-behaved Microsoft Graph client for app-only reads, on the standard library alone.

Pure Python, no Ansible imports, no third-party HTTP library (``urllib.request``; the certificate credential's
signature is :mod:`_cloud._graph_assertion`'s, which needs ``cryptography``). Which application, cloud and roots it
reads with is :mod:`_cloud._graph_identity`'s; how its requests travel (proxy, TLS, no redirects) is
:mod:`_cloud._graph_transport`'s.

What "well-behaved" means here, each with Microsoft's source:

* **Tokens**: the OAuth 2.0 client credentials grant, ``POST {authority}/{tenant}/oauth2/v2.0/token`` with
  ``scope={graph}/.default`` and a client secret or a signed client assertion (MicrosoftDocs/entra-docs
  ``docs/identity-platform/v2-oauth2-client-creds-grant-flow.md``, "Get a token"). One token per run, renewed
  only when it is about to expire. An error answer carries ``error``, ``error_description`` (``AADSTSnnnn: ...``,
  then trace and correlation ids) and ``error_codes``; the message quotes the first line of the description and
  never branches on the numbers, which Microsoft says may change (``reference-error-codes.md``). The token is
  opaque to the client: it is never decoded ("don't attempt to validate or read tokens for any API you don't own").
* **Throttling**: 429 (and 503/504, the transient answers) are retried after ``Retry-After`` (seconds or an HTTP
  date), or after an exponential back-off when the header is missing, at most ``max_retries`` times and never past
  the run's ``total_timeout``: when Graph asks for a longer wait than the time left, the client stops at once and
  says so (``concepts/throttling.md``: "wait the number of seconds specified in the Retry-After field").
* **Paging**: a collection is read to its end by following ``@odata.nextLink`` exactly as given
  (``concepts/paging.md``), only on the Graph root the client was given (the bearer token is never sent anywhere
  else), and a link that repeats is an error rather than an endless loop.
* **Errors**: Graph's error body is ``{"error": {"code", "message", "innerError": {"request-id", "date"}}}``
  (``concepts/errors.md``); every failure becomes a :class:`GraphError` whose message names what was asked, the
  status, Graph's code and message, and the request id Microsoft support asks for.
Secrets (the client secret, the assertion, the token, proxy passwords) are masked in every message with the
collection's one masking rule (:func:`_common._redaction.redact`).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlencode, urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud._graph_transport import build_opener
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction

USER_AGENT = "atp.sensor_proxy mdi_sensor_health"
TOKEN_PATH = "/%s/oauth2/v2.0/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RETRY_STATUSES = (429, 503, 504)
MAX_BACKOFF = 30.0
MAX_PAGES = 1000
# Renew the token this long before Entra ID says it expires.
TOKEN_MARGIN = 120.0


class GraphError(Exception):
    """A read that failed: ``kind`` is ``token``, ``unauthorized``, ``forbidden``, ``throttled``, ``http``,
    ``network``, ``tls``, ``paging`` or ``protocol``; ``status`` the HTTP status when there was one."""

    def __init__(self, message: str, kind: str, status: int | None = None, path: str = ""):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.path = path


@dataclass
class Stats:
    """What the client did: requests sent, retries, seconds slept on Retry-After or back-off, pages read."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    pages: int = 0
    throttled: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"requests": self.requests, "retries": self.retries, "waited": round(self.waited, 3),
                "pages": self.pages, "throttled": list(self.throttled)}


def retry_after(value: str | None, attempt: int, now: float | None = None) -> float:
    """Seconds to wait: ``Retry-After`` as delta-seconds or an HTTP date (RFC 9110 10.2.3), else back-off."""
    if value:
        text = value.strip()
        try:
            return max(float(text), 0.0)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(text).timestamp()
            return max(when - (time.time() if now is None else now), 0.0)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return min(2.0 ** attempt, MAX_BACKOFF)


def graph_error_text(body: bytes) -> tuple:
    """``(code, message, request id)`` from Graph's error body, each '' when absent."""
    try:
        error = json.loads(body.decode("utf-8", "replace")).get("error") or {}
    except (ValueError, AttributeError):
        return "", _snippet(body), ""
    if not isinstance(error, dict):
        return "", str(error), ""
    inner = error.get("innerError") or error.get("innererror") or {}
    return (str(error.get("code") or ""), " ".join(str(error.get("message") or "").split()),
            str(inner.get("request-id") or "") if isinstance(inner, dict) else "")


def token_error_text(body: bytes) -> tuple:
    """``(error, first line of error_description, error_uri)`` from the token service's error answer."""
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return "", _snippet(body), ""
    if not isinstance(data, dict):
        return "", _snippet(body), ""
    description = str(data.get("error_description") or "").replace("\r", "\n").split("\n", maxsplit=1)[0].strip()
    return str(data.get("error") or ""), description, str(data.get("error_uri") or "")


def _snippet(body: bytes, size: int = 200) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:size] + ("..." if len(text) > size else "")


class GraphClient:
    """App-only reads from one Graph root with one application identity.

    ``credential`` is a callable ``credential(token_url) -> dict`` giving the form fields that prove the
    application's identity: ``{"client_secret": ...}`` or ``{"client_assertion_type": ..., "client_assertion": ...}``
    (a fresh assertion per token request). ``secrets`` lists every string to mask in messages.
    """

    def __init__(self, *, tenant_id: str, client_id: str, credential, login_root: str, graph_root: str,
                 api_version: str = "v1.0", timeout: float = 30.0, total_timeout: float = 300.0,
                 max_retries: int = 5, opener=None, secrets=(), clock=time.monotonic, sleep=time.sleep):
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.credential = credential
        self.login_root = login_root
        self.graph_root = graph_root
        self.api_version = api_version
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.opener = opener or build_opener()
        self.secrets = [s for s in secrets if s]
        self.clock = clock
        self.sleep = sleep
        self.deadline = clock() + float(total_timeout)
        self.total_timeout = float(total_timeout)
        self.stats = Stats()
        self._token = None
        self._token_expires = 0.0

    # -- masking ---------------------------------------------------------------------------
    def _forms(self) -> list:
        forms = list(self.secrets)
        if self._token:
            forms.append(self._token)
        return forms + [quote_plus(s) for s in forms]

    def redact(self, text: str) -> str:
        return redaction.redact(text, self._forms())

    def _fail(self, message: str, kind: str, status: int | None = None, path: str = "") -> GraphError:
        return GraphError(self.redact(message), kind, status, path)

    # -- transport -------------------------------------------------------------------------
    def restart_budget(self) -> None:
        """A new reading gets the whole ``total_timeout`` again (each reading of a wait is bounded alone)."""
        self.deadline = self.clock() + self.total_timeout

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def _send(self, method: str, url: str, what: str, headers: dict, data: bytes | None = None) -> tuple:
        """``(status, headers, body)`` of the final answer, 429/503/504 retried as the module docstring says.
        Network and TLS failures raise :class:`GraphError`."""
        attempt = 0
        while True:
            left = self.remaining()
            if left <= 0:
                raise self._fail("%s: no time left of total_timeout (%gs)" % (what, self.total_timeout), "throttled")
            request = urllib.request.Request(url, data=data, method=method,
                                             headers=dict(headers, **{"User-Agent": USER_AGENT}))
            self.stats.requests += 1
            status, answer_headers, body = self._open(request, what, min(self.timeout, max(left, 0.1)))
            if 200 <= status < 300:
                return status, answer_headers, body
            if status not in RETRY_STATUSES:
                return status, answer_headers, body
            header = answer_headers.get("Retry-After") if answer_headers is not None else None
            wait = retry_after(header, attempt)
            self.stats.throttled.append({"what": what, "status": status, "retry_after": header})
            if attempt >= self.max_retries:
                raise self._fail("%s: still HTTP %d after %d retries (max_retries); Graph asks to wait %s"
                                 % (what, status, attempt, "%gs" % wait if header else "(no Retry-After)"),
                                 "throttled", status)
            if wait > self.remaining():
                raise self._fail("%s: HTTP %d, Graph asks to wait %gs (Retry-After: %s), more than the %.0fs left "
                                 "of total_timeout (%gs)" % (what, status, wait, header, max(self.remaining(), 0),
                                                             self.total_timeout), "throttled", status)
            self.sleep(wait)
            self.stats.waited += wait
            self.stats.retries += 1
            attempt += 1

    def _open(self, request, what: str, timeout: float) -> tuple:
        """``(status, headers, body)`` of one request, an HTTP error status included."""
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise self._network_error(what, exc) from None

    def _network_error(self, what: str, exc: BaseException) -> GraphError:
        reason = getattr(exc, "reason", exc)
        text = str(reason)
        if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
            return self._fail("%s: the TLS certificate could not be verified (%s); if a proxy inspects TLS, give its "
                              "CA in ca_path" % (what, text), "tls")
        if isinstance(reason, ssl.SSLError):
            return self._fail("%s: TLS failed: %s" % (what, text), "tls")
        if "Tunnel connection failed" in text:
            return self._fail("%s: the proxy refused the connection: %s" % (what, text), "network")
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return self._fail("%s: no answer within %gs (timeout)" % (what, self.timeout), "network")
        return self._fail("%s: cannot connect: %s" % (what, text), "network")

    # -- the token ---------------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.login_root + TOKEN_PATH % quote(self.tenant_id, safe="")

    @property
    def scope(self) -> str:
        return self.graph_root + "/.default"

    def token(self) -> str:
        """A valid access token, requested once and renewed shortly before it expires."""
        if self._token and self.clock() < self._token_expires - TOKEN_MARGIN:
            return self._token
        fields = {"client_id": self.client_id, "scope": self.scope, "grant_type": "client_credentials"}
        proof = self.credential(self.token_url)
        self.secrets.extend(v for k, v in proof.items() if k in ("client_secret", "client_assertion"))
        fields.update(proof)
        what = "token request to %s for client %s" % (self.token_url, self.client_id)
        status, dummy, body = self._send("POST", self.token_url, what, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            urlencode(fields).encode("ascii"))
        if status != 200:
            error, description, uri = token_error_text(body)
            raise self._fail("Microsoft Entra ID refused the %s in tenant %s: HTTP %d %s%s%s. %s"
                             % (what, self.tenant_id, status, error or "(no error code)",
                                ": " + description if description else "", " (%s)" % uri if uri else "",
                                token_hint(error, "client_assertion" in proof)), "token", status)
        try:
            data = json.loads(body.decode("utf-8"))
            self._token = str(data["access_token"])
            lifetime = float(data.get("expires_in") or 3599)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._fail("%s: the answer is not a token response: %s" % (what, _snippet(body)),
                             "protocol", status) from None
        self._token_expires = self.clock() + lifetime
        return self._token

    # -- Graph reads -----------------------------------------------------------------------
    def url(self, path: str, query: dict | None = None) -> str:
        url = "%s/%s/%s" % (self.graph_root, self.api_version, path.lstrip("/"))
        if query:
            url += "?" + urlencode(query, quote_via=quote, safe="$,'()/:")
        return url

    def get(self, url: str, what: str) -> dict:
        """One GET of a Graph URL; the parsed JSON object, or :class:`GraphError`."""
        self._check_same_root(url, what)
        token = self.token()
        status, dummy, body = self._send("GET", url, what, {"Authorization": "Bearer " + token,
                                                            "Accept": "application/json"})
        if status == 200:
            try:
                data = json.loads(body.decode("utf-8"))
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise self._fail("%s: HTTP 200 but the body is not a JSON object: %s" % (what, _snippet(body)),
                                 "protocol", status, what)
            return data
        code, message, request_id = graph_error_text(body)
        kind = {401: "unauthorized", 403: "forbidden"}.get(status, "http")
        hint = ("; Graph did not accept the token %s issued for %s: a token of one cloud is not valid in another "
                "(cloud, graph_endpoint, authority)" % (self.login_root, self.scope)) if status == 401 else ""
        raise self._fail("%s: HTTP %d %s%s%s%s" % (what, status, code or "(no error code)",
                                                   ": " + message if message else "",
                                                   " (request-id %s)" % request_id if request_id else "", hint),
                         kind, status, what)

    def _check_same_root(self, url: str, what: str) -> None:
        mine, theirs = urlsplit(self.graph_root), urlsplit(url)
        if (theirs.scheme, (theirs.netloc or "").lower()) != (mine.scheme, mine.netloc.lower()):
            raise self._fail("%s: refusing to send the access token to %s://%s, which is not the Graph endpoint %s"
                             % (what, theirs.scheme, theirs.netloc, self.graph_root), "paging")

    def get_all(self, path: str, what: str, query: dict | None = None) -> list:
        """Every item of a collection: ``value`` of each page, following ``@odata.nextLink`` to the end."""
        url = self.url(path, query)
        seen = set()
        items = []
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise self._fail("%s: @odata.nextLink %s after %d page(s); stopping" % (
                    what, "repeats a page already read" if url in seen else "goes on past %d pages" % MAX_PAGES,
                    len(seen)), "paging")
            seen.add(url)
            page = self.get(url, what)
            self.stats.pages += 1
            value = page.get("value")
            if not isinstance(value, list):
                raise self._fail("%s: the answer has no 'value' list" % what, "protocol", 200, what)
            items.extend(v for v in value if isinstance(v, dict))
            url = page.get("@odata.nextLink")
            if url is not None and not isinstance(url, str):
                raise self._fail("%s: @odata.nextLink is not a URL" % what, "paging")
        return items


def token_hint(error: str, certificate: bool) -> str:
    """One sentence for the OAuth ``error`` (RFC 6749 5.2), never for the AADSTS number."""
    if error == "invalid_client":
        return ("Check the %s and that it belongs to this application (client_id) and has not expired."
                % ("certificate (its public part must be uploaded to the application)" if certificate
                   else "client secret (its Value, not its Secret ID)"))
    if error in ("unauthorized_client", "invalid_request", "invalid_tenant"):
        return ("Check tenant_id and client_id, and that the application is registered in this cloud (cloud, "
                "authority).")
    if error == "invalid_scope":
        return "Check graph_endpoint and cloud: the scope is <Graph root>/.default of the tenant's cloud."
    return "Check tenant_id, client_id, the credential and cloud."
