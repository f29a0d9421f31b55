# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``System.Net.HttpWebRequest`` and what comes with it, backed by the lab's real network (TEST ONLY).

Every request goes through the lab DC's .NET web stack, ``tests/lab/web.py`` (the one the ``win_uri`` stand-in
uses): the account's WinINet proxy (or the machine-wide one under ``ProxySettingsPerUser=0``), the lab's DNS
tables, real CONNECT tunnels through proxy.py, tinyproxy or the inspecting proxy, real TLS with the lab's store.
.NET Framework 4.x behaviour, from its documentation (https://learn.microsoft.com/dotnet/api/system.net.
httpwebrequest?view=netframework-4.8) and reference source:

* ``[System.Net.WebRequest]::Create(url)``: an ``HttpWebRequest`` for http/https (else ``NotSupportedException``);
  ``Method``, ``Timeout`` (ms, the whole synchronous request; default 100000), ``ReadWriteTimeout``,
  ``AllowAutoRedirect`` (a redirect is never followed here: true with a 3xx answer is refused), ``KeepAlive``,
  ``UserAgent``, ``ConnectionGroupName``, ``Proxy``, ``RequestUri``; a property set after ``GetResponse`` is
  ``InvalidOperationException``;
* ``Proxy``: ``WebRequest.DefaultWebProxy`` (the account's WinINet settings) until set; ``$null`` is direct;
  ``[System.Net.WebProxy]::new(address, bypassOnLocal)`` with ``Credentials`` (a ``NetworkCredential``, sent after
  the proxy's 407, as .NET does);
* ``ServerCertificateValidationCallback`` (.NET 4.5 and later, a per-request
  ``RemoteCertificateValidationCallback``): called with (the request, the server's ``X509Certificate2``, the
  ``X509Chain`` Windows built against the store, the ``SslPolicyErrors``); its answer decides, false is
  ``TrustFailure``. Without it a chain or name error is ``TrustFailure``. On a host with .NET Framework before 4.5
  the property does not exist. The lab's chain is the leaf and the store certificates that issued it
  (``web.certificate_view``); its elements are an array here (an ``X509ChainElementCollection`` in .NET);
* ``GetResponse()``: an ``HttpWebResponse`` (``StatusCode``, ``StatusDescription``, ``Method``: ``CONNECT`` for the
  proxy's answer to the tunnel request, ``Headers``, ``Close()``); an HTTP status of 400 or more, or a refused
  CONNECT, is a ``WebException`` with ``Status`` ``ProtocolError`` and that ``Response``; a failure without an
  answer is a ``WebException`` with its ``WebExceptionStatus`` and .NET's message (German with the ``language``
  fault), thrown from the method call, so PowerShell wraps it in ``MethodInvocationException``;
* connections: ``ServicePointManager.DefaultConnectionLimit`` is 2 for a client application, per service point
  (the proxy, or the destination when direct) and connection group (``ConnectionGroupName``, plus the tunnelled
  destination for HTTPS through a proxy: ``HttpWebRequest.GetConnectionGroupLine``); more requests on one group
  wait for a free connection within their ``Timeout``;
* ``[System.Net.ServicePointManager]::SecurityProtocol``: the process's TLS versions. Windows PowerShell 5.1 starts
  with ``Ssl3, Tls`` unless the .NET switches under ``HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319`` say
  otherwise (``SystemDefaultTlsVersions=1``: ``SystemDefault``; ``SchUseStrongCrypto=1``: ``Tls, Tls11, Tls12``),
  and a handshake offers nothing newer than it allows (the lab's servers want TLS 1.2), so a script that does not
  turn TLS 1.2 on fails as it would on such a DC (win_uri turns it on, WebRequest.psm1 lines 207-236).
  ``[Enum]::GetNames([System.Net.SecurityProtocolType])`` has ``Tls13`` from .NET 4.8 on.
"""

from __future__ import annotations

import os
import threading
import time
from urllib.parse import urlsplit

from tests.lab import web as stack
from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import DotNetError, TerminatingError, Unsupported, dotnet_error
from tests.lab.pwsh.surface import types
from tests.lab.pwsh.surface.system import NetworkCredential

NDP_KEY = "HKLM:\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full"
NETFX_KEY = "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319"
DOTNET_45 = 378389
DOTNET_48 = 528040
DEFAULT_RELEASE = 461814  # .NET 4.7.2 (Windows Server 2019 as shipped) when the host has no Release value
DEFAULT_CONNECTION_LIMIT = 2
WEB_EXCEPTION_BASES = ("System.InvalidOperationException", "System.SystemException", "System.Exception")
GERMAN_PROTOCOL_ERROR = "Der Remoteserver hat einen Fehler zur\u00fcckgegeben: (%d) %s."

SECURITY_PROTOCOL = types.register("System.Net.SecurityProtocolType", flags=True, enum={
    "SystemDefault": 0, "Ssl3": 48, "Tls": 192, "Tls11": 768, "Tls12": 3072, "Tls13": 12288})
STATUS_CODE = types.register("System.Net.HttpStatusCode", enum={
    "Continue": 100, "SwitchingProtocols": 101, "OK": 200, "Created": 201, "Accepted": 202,
    "NonAuthoritativeInformation": 203, "NoContent": 204, "ResetContent": 205, "PartialContent": 206,
    "MultipleChoices": 300, "MovedPermanently": 301, "Found": 302, "SeeOther": 303, "NotModified": 304,
    "UseProxy": 305, "Unused": 306, "TemporaryRedirect": 307, "BadRequest": 400, "Unauthorized": 401,
    "PaymentRequired": 402, "Forbidden": 403, "NotFound": 404, "MethodNotAllowed": 405, "NotAcceptable": 406,
    "ProxyAuthenticationRequired": 407, "RequestTimeout": 408, "Conflict": 409, "Gone": 410, "LengthRequired": 411,
    "PreconditionFailed": 412, "RequestEntityTooLarge": 413, "RequestUriTooLong": 414, "UnsupportedMediaType": 415,
    "RequestedRangeNotSatisfiable": 416, "ExpectationFailed": 417, "UpgradeRequired": 426,
    "InternalServerError": 500, "NotImplemented": 501, "BadGateway": 502, "ServiceUnavailable": 503,
    "GatewayTimeout": 504, "HttpVersionNotSupported": 505})
EXCEPTION_STATUS = types.register("System.Net.WebExceptionStatus", enum={
    "Success": 0, "NameResolutionFailure": 1, "ConnectFailure": 2, "ReceiveFailure": 3, "SendFailure": 4,
    "PipelineFailure": 5, "RequestCanceled": 6, "ProtocolError": 7, "ConnectionClosed": 8, "TrustFailure": 9,
    "SecureChannelFailure": 10, "ServerProtocolViolation": 11, "KeepAliveFailure": 12, "Pending": 13, "Timeout": 14,
    "ProxyNameResolutionFailure": 15, "UnknownError": 16, "MessageLengthLimitExceeded": 17, "CacheEntryNotFound": 18,
    "RequestProhibitedByCachePolicy": 19, "RequestProhibitedByProxy": 20})
POLICY_ERRORS = types.register("System.Net.Security.SslPolicyErrors", flags=True, enum={
    "None": 0, "RemoteCertificateNotAvailable": 1, "RemoteCertificateNameMismatch": 2,
    "RemoteCertificateChainErrors": 4})
CHAIN_STATUS = types.register("System.Security.Cryptography.X509Certificates.X509ChainStatusFlags", flags=True, enum={
    "NoError": 0, "NotTimeValid": 1, "NotTimeNested": 2, "Revoked": 4, "NotSignatureValid": 8,
    "NotValidForUsage": 16, "UntrustedRoot": 32, "RevocationStatusUnknown": 64, "Cyclic": 128,
    "InvalidExtension": 256, "InvalidPolicyConstraints": 512, "InvalidBasicConstraints": 1024,
    "InvalidNameConstraints": 2048, "HasNotSupportedNameConstraint": 4096, "HasNotDefinedNameConstraint": 8192,
    "HasNotPermittedNameConstraint": 16384, "HasExcludedNameConstraint": 32768, "PartialChain": 65536,
    "CtlNotTimeValid": 131072, "CtlNotSignatureValid": 262144, "CtlNotValidForUsage": 524288,
    "HasWeakSignature": 1048576, "OfflineRevocation": 16777216, "NoIssuanceChainPolicy": 33554432,
    "ExplicitDistrust": 67108864, "HasNotSupportedCriticalExtension": 134217728})


def dotnet_release(ctx) -> int:
    value = ctx.registry().get_value(NDP_KEY, "Release")
    return int(value["data"]) if value else DEFAULT_RELEASE


# Tls13 is a name of the enum from .NET 4.8 on (dotnet_release above)
SECURITY_PROTOCOL.names_for = lambda ctx: [n for n in SECURITY_PROTOCOL.enum
                                           if n != "Tls13" or dotnet_release(ctx) >= DOTNET_48]


def _process(ctx) -> dict:
    """The process-wide .NET state of one script run (one win_powershell process): ServicePointManager's."""
    state = getattr(ctx, "web_process", None)
    if state is None:
        registry = ctx.registry()
        system_default = registry.get_value(NETFX_KEY, "SystemDefaultTlsVersions")
        strong = registry.get_value(NETFX_KEY, "SchUseStrongCrypto")
        if system_default and int(system_default["data"]) == 1:
            protocols = "SystemDefault"
        elif strong and int(strong["data"]) == 1:
            protocols = "Tls, Tls11, Tls12"
        else:
            protocols = "Ssl3, Tls"
        state = {"protocols": SECURITY_PROTOCOL.convert(protocols), "lock": threading.Lock(), "slots": {}}
        ctx.web_process = state
    return state


def _set_protocols(ctx, value):
    _process(ctx)["protocols"] = SECURITY_PROTOCOL.convert(value)


def protocol_ceiling(ctx, fault=None):
    """The newest TLS version a handshake offers: the process's SecurityProtocol, lowered by the ``tls_max`` fault."""
    bits = _process(ctx)["protocols"].value
    allowed = None if bits == 0 or bits & (3072 | 12288) else ("TLSv1_1" if bits & 768 else "TLSv1")
    order = ["TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"]
    caps = [c for c in (allowed, fault) if c]
    return min(caps, key=order.index) if caps else None


def _slot(ctx, key):
    state = _process(ctx)
    with state["lock"]:
        return state["slots"].setdefault(key, threading.BoundedSemaphore(DEFAULT_CONNECTION_LIMIT))


def web_exception(message: str, status: str, response=None) -> DotNetError:
    error = DotNetError(message, None, "System.Net.WebException", WEB_EXCEPTION_BASES, -2146233079)
    error.properties = {"Status": EXCEPTION_STATUS.convert(status), "Response": response}
    return error


# --------------------------------------------------------------------------------------------------------------
# Proxies
# --------------------------------------------------------------------------------------------------------------
class DefaultProxy(v.DotNetObject):
    """``WebRequest.DefaultWebProxy``: the account's Internet Explorer (WinINet) settings."""

    TYPE = "System.Net.WebRequest+WebProxyWrapper"
    BASES = ("System.Net.IWebProxy",)

    def __init__(self):
        self.credentials = None

    def p_Credentials(self):
        return self.credentials

    def set_Credentials(self, value):
        self.credentials = _credentials(value)


class WebProxy(v.DotNetObject):
    TYPE = "System.Net.WebProxy"
    BASES = ("System.Net.IWebProxy",)

    def __init__(self, address: str, bypass_on_local: bool):
        self.address = address if "://" in address else "http://" + address
        self.bypass_on_local = bypass_on_local
        self.credentials = None

    def p_Address(self):
        return self.address

    def p_BypassProxyOnLocal(self):
        return self.bypass_on_local

    def p_Credentials(self):
        return self.credentials

    def set_Credentials(self, value):
        self.credentials = _credentials(value)


def _credentials(value):
    if value is None or isinstance(value, NetworkCredential):
        return value
    raise v._cast_error(value, "System.Net.ICredentials")


def _new_web_proxy(ctx, address=None, bypass_on_local=False, *rest):
    if rest or address is None:
        raise Unsupported("this System.Net.WebProxy constructor", 0)
    return WebProxy(v.to_string(address), v.to_bool(bypass_on_local))


# --------------------------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------------------------
class X509Certificate2(v.DotNetObject):
    TYPE = "System.Security.Cryptography.X509Certificates.X509Certificate2"
    BASES = ("System.Security.Cryptography.X509Certificates.X509Certificate", "System.IDisposable")

    def __init__(self, cert):
        self.cert = cert

    def p_Subject(self):
        return stack.dotnet_name(self.cert.subject)

    def p_Issuer(self):
        return stack.dotnet_name(self.cert.issuer)

    def p_Thumbprint(self):
        return stack.thumbprint(self.cert)

    def p_SerialNumber(self):
        return "%X" % self.cert.serial_number

    def m_GetRawCertData(self):
        return v.byte_array(self.cert.public_bytes(stack.Encoding.DER))

    def m_GetCertHashString(self):
        return stack.thumbprint(self.cert)


class X509ChainElement(v.DotNetObject):
    TYPE = "System.Security.Cryptography.X509Certificates.X509ChainElement"

    def __init__(self, cert):
        self.certificate = X509Certificate2(cert)

    def p_Certificate(self):
        return self.certificate


class X509ChainStatus(v.DotNetObject):
    TYPE = "System.Security.Cryptography.X509Certificates.X509ChainStatus"
    BASES = ("System.ValueType",)

    def __init__(self, status: str, information: str):
        self.status, self.information = CHAIN_STATUS.convert(status), information

    def p_Status(self):
        return self.status

    def p_StatusInformation(self):
        return self.information


class X509Chain(v.DotNetObject):
    TYPE = "System.Security.Cryptography.X509Certificates.X509Chain"
    BASES = ("System.IDisposable",)

    def __init__(self, view: dict):
        self.elements = v.PSArray([X509ChainElement(c) for c in view["chain"]])
        self.status = v.PSArray([X509ChainStatus(s, i) for s, i in view["chain_status"]])

    def p_ChainElements(self):
        return self.elements

    def p_ChainStatus(self):
        return self.status


class CertificateCallback(v.DotNetObject):
    """A script block converted to ``RemoteCertificateValidationCallback`` (about_Script_Blocks; the PowerShell
    Language Specification 6.15): .NET calls it on the thread that makes the handshake, which for the synchronous
    ``GetResponse`` is the script's own."""

    TYPE = "System.Net.Security.RemoteCertificateValidationCallback"
    BASES = ("System.MulticastDelegate", "System.Delegate")

    def __init__(self, block):
        self.block = block

    def invoke(self, args: list):
        return self.block.session.invoke_delegate(self.block, args)


def _callback(ctx, value):
    from tests.lab.pwsh.interpreter import ScriptBlock

    if value is None or isinstance(value, CertificateCallback):
        return value
    if isinstance(value, ScriptBlock):
        return CertificateCallback(value)
    raise v._cast_error(value, CertificateCallback.TYPE)


# --------------------------------------------------------------------------------------------------------------
# Requests and responses
# --------------------------------------------------------------------------------------------------------------
class WebHeaderCollection(v.DotNetObject):
    TYPE = "System.Net.WebHeaderCollection"
    BASES = ("System.Collections.Specialized.NameValueCollection",)

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def m_get_Item(self, name):
        wanted = v.to_string(name).lower()
        found = [value for key, value in self.pairs if key.lower() == wanted]
        return ",".join(found) if found else None

    def m_Get(self, name):
        return self.m_get_Item(name)

    def p_AllKeys(self):
        keys = []
        for pair in self.pairs:
            if pair[0].lower() not in (k.lower() for k in keys):
                keys.append(pair[0])
        return v.string_array(keys)

    def p_Count(self):
        return v.Int32(len(self.p_AllKeys()))


class HttpWebResponse(v.DotNetObject):
    TYPE = "System.Net.HttpWebResponse"
    BASES = ("System.Net.WebResponse", "System.IDisposable")

    def __init__(self, response, method: str, url: str):
        self.status = response.status
        self.reason = response.reason
        self.method = method
        self.url = url
        self.headers = WebHeaderCollection(response.getheaders())
        self.closed = False

    def p_StatusCode(self):
        return STATUS_CODE.convert(v.Int32(self.status))

    def p_StatusDescription(self):
        return self.reason

    def p_Method(self):
        return self.method

    def p_Headers(self):
        return self.headers

    def p_ResponseUri(self):
        return self.url

    def m_Close(self):
        self.closed = True

    def m_Dispose(self):
        self.closed = True


class HttpWebRequest(v.DotNetObject):
    TYPE = "System.Net.HttpWebRequest"
    BASES = ("System.Net.WebRequest",)

    def __init__(self, ctx, url: str):
        self.ctx = ctx
        self.url = url
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.values = {"Method": "GET", "Timeout": v.Int32(100000), "ReadWriteTimeout": v.Int32(300000),
                       "AllowAutoRedirect": True, "KeepAlive": True, "UserAgent": None, "ConnectionGroupName": None}
        self.proxy = DefaultProxy()
        self.callback = None
        self.submitted = False
        self.response = None

    def _set(self, name, value):
        if self.submitted:
            raise dotnet_error("System.InvalidOperationException",
                               "This operation cannot be performed after the request has been submitted.")
        self.values[name] = value

    def p_RequestUri(self):
        return self.url

    def p_Method(self):
        return self.values["Method"]

    def set_Method(self, value):
        self._set("Method", v.to_string(value))

    def p_Timeout(self):
        return self.values["Timeout"]

    def set_Timeout(self, value):
        self._set("Timeout", v.to_integer(value, v.Int32))

    def p_ReadWriteTimeout(self):
        return self.values["ReadWriteTimeout"]

    def set_ReadWriteTimeout(self, value):
        self._set("ReadWriteTimeout", v.to_integer(value, v.Int32))

    def p_AllowAutoRedirect(self):
        return self.values["AllowAutoRedirect"]

    def set_AllowAutoRedirect(self, value):
        self._set("AllowAutoRedirect", v.to_bool(value))

    def p_KeepAlive(self):
        return self.values["KeepAlive"]

    def set_KeepAlive(self, value):
        self._set("KeepAlive", v.to_bool(value))

    def p_UserAgent(self):
        return self.values["UserAgent"]

    def set_UserAgent(self, value):
        self._set("UserAgent", None if value is None else v.to_string(value))

    def p_ConnectionGroupName(self):
        return self.values["ConnectionGroupName"]

    def set_ConnectionGroupName(self, value):
        self._set("ConnectionGroupName", None if value is None else v.to_string(value))

    def p_Proxy(self):
        return self.proxy

    def set_Proxy(self, value):
        if value is not None and not isinstance(value, (WebProxy, DefaultProxy)):
            raise v._cast_error(value, "System.Net.IWebProxy")
        self._set("Proxy", None)
        self.proxy = value

    def p_ServerCertificateValidationCallback(self):
        self._require_45()
        return self.callback

    def set_ServerCertificateValidationCallback(self, value):
        self._require_45()
        self._set("ServerCertificateValidationCallback", None)
        self.callback = _callback(self.ctx, value)

    def _require_45(self):
        if dotnet_release(self.ctx) < DOTNET_45:
            raise dotnet_error("System.Management.Automation.RuntimeException",
                               "The property 'ServerCertificateValidationCallback' cannot be found on this object. "
                               "Verify that the property exists and can be set.")

    def _route(self):
        """(proxy 'host:port' or None, (user, password) or None): the proxy .NET sends this request to."""
        if isinstance(self.proxy, DefaultProxy):
            settings = stack.account_settings(self.ctx.host, self.ctx.account)
            proxy, credentials = stack.default_proxy(settings, self.scheme, self.host), self.proxy.credentials
        elif self.proxy is None:
            proxy, credentials = None, None
        else:
            local = self.proxy.bypass_on_local and stack.is_local(self.host)
            proxy, credentials = (None if local else self.proxy.address), self.proxy.credentials
        pair = (credentials.user, credentials.password) if isinstance(credentials, NetworkCredential) else None
        return proxy, (pair if proxy else None)

    def _validator(self, ca_file):
        def check(der):
            view = stack.certificate_view(der, self.host, ca_file)
            errors = POLICY_ERRORS.convert(view["policy_errors"])
            if self.callback is None:
                return errors.value == 0
            try:
                answer = self.callback.invoke([self, X509Certificate2(view["chain"][0]), X509Chain(view), errors])
            except TerminatingError:
                raise stack.WebError(stack.MSG_SEND) from None  # the callback threw: the handshake fails
            return v.to_bool(answer)

        return check

    def m_GetResponse(self):
        if self.response is not None:
            return self.response
        self.submitted = True
        ctx = self.ctx
        lab_config = ctx.host.lab.config()
        faults = stack.host_faults(lab_config, ctx.host.name)
        language = faults.get("language")
        ca_file = os.environ.get("ATP_LAB_CA_FILE") or lab_config.get("ca_file") or ""
        try:
            proxy, credentials = self._route()
        except stack.LabRefusal as exc:
            raise Unsupported(str(exc), 0) from None
        group = self.values["ConnectionGroupName"] or ""
        if proxy and self.scheme == "https":
            group += "S>%s:%d" % (self.host, self.port)
        point = proxy or "%s://%s:%d" % (self.scheme, self.host, self.port)
        timeout = int(self.values["Timeout"]) / 1000.0
        headers = {"User-Agent": self.values["UserAgent"]} if self.values["UserAgent"] else {}
        slot = _slot(ctx, (point.lower(), group))
        start = time.monotonic()
        if not slot.acquire(timeout=max(timeout, 0)):
            raise web_exception(stack.WebError(stack.MSG_TIMEOUT).text(language), "Timeout")
        try:
            response, body, from_proxy = stack.request(
                lab_config, self.url, method=self.values["Method"], headers=headers, proxy=proxy,
                credentials=credentials, timeout=max(timeout - (time.monotonic() - start), 0.001), ca_file=ca_file,
                tls_max=protocol_ceiling(ctx, faults.get("tls_max")),
                on_certificate=self._validator(ca_file) if self.scheme == "https" else None)
        except stack.WebError as exc:
            raise web_exception(exc.text(language), exc.status) from None
        finally:
            slot.release()
        answer = HttpWebResponse(response, "CONNECT" if from_proxy else self.values["Method"], self.url)
        if self.values["AllowAutoRedirect"] and 300 <= response.status < 400 and not from_proxy:
            raise Unsupported("following a redirect (AllowAutoRedirect with HTTP %d)" % response.status, 0)
        if from_proxy or response.status >= 400:
            template = GERMAN_PROTOCOL_ERROR if language == "de-DE" else "The remote server returned an error: (%d) %s."
            raise web_exception(template % (response.status, response.reason), "ProtocolError", answer)
        self.response = answer
        return answer


def _create(ctx, url):
    text = v.to_string(url)
    scheme = urlsplit(text).scheme.lower()
    if scheme not in ("http", "https"):
        raise dotnet_error("System.NotSupportedException", "The URI prefix is not recognized.")
    return HttpWebRequest(ctx, text)


types.register("System.Net.WebRequest", statics={"Create": _create},
               static_properties={"DefaultWebProxy": lambda ctx: DefaultProxy()})
types.register(HttpWebRequest.TYPE, statics={"Create": _create}, bases=HttpWebRequest.BASES)
types.register(HttpWebResponse.TYPE, bases=HttpWebResponse.BASES)
types.register("System.Net.WebException", bases=WEB_EXCEPTION_BASES)
types.register("System.Net.IWebProxy")
types.register(WebProxy.TYPE, new=_new_web_proxy, bases=WebProxy.BASES)
types.register("System.Net.ServicePointManager",
               static_properties={"SecurityProtocol": lambda ctx: _process(ctx)["protocols"],
                                  "DefaultConnectionLimit": lambda ctx: v.Int32(DEFAULT_CONNECTION_LIMIT)},
               static_setters={"SecurityProtocol": _set_protocols})
types.register(CertificateCallback.TYPE, convert=_callback, bases=CertificateCallback.BASES)
for _cls in (X509Certificate2, X509ChainElement, X509ChainStatus, X509Chain):
    types.register(_cls.TYPE, bases=getattr(_cls, "BASES", ()))
types.register("System.Security.Cryptography.X509Certificates.X509Certificate")
