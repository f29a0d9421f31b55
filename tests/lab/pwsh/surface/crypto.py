# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hashing under the FIPS policy, ``[Convert]`` and ``[BitConverter]`` (TEST ONLY).

The FIPS policy is the host's own registry value ``HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\
FipsAlgorithmPolicy\\Enabled`` (the "System cryptography: Use FIPS compliant algorithms" setting;
``system_state.seed_fips``). With it on, .NET Framework before 4.8 (``NDP\\v4\\Full\\Release`` below 528040:
Windows Server 2016 and 2019 as shipped) refuses its managed implementations: constructing ``SHA256Managed`` (what
``[SHA256]::Create()`` makes, through ``CryptoConfig``) throws ``InvalidOperationException`` "This implementation
is not part of the Windows Platform FIPS validated cryptographic algorithms." The ``*CryptoServiceProvider``
classes call the validated CryptoAPI and always work; ``win_stat.ps1`` (ansible.windows 3.3.0, lines 17-24) uses
them for that reason. MD5 is never FIPS-validated: ``MD5CryptoServiceProvider`` throws under the policy too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import dotnet_error
from tests.lab.pwsh.surface import types

FIPS_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy"
NDP_KEY = "HKLM:\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full"
DOTNET_48 = 528040
FIPS_MESSAGE = "This implementation is not part of the Windows Platform FIPS validated cryptographic algorithms."


def fips_enforced(ctx) -> bool:
    value = ctx.registry().get_value(FIPS_KEY, "Enabled")
    return bool(value and int(value["data"]) == 1)


def managed_refused(ctx) -> bool:
    release = ctx.registry().get_value(NDP_KEY, "Release")
    return fips_enforced(ctx) and (release is None or int(release["data"]) < DOTNET_48)


class HashAlgorithm(v.DotNetObject):
    BASES = ("System.Security.Cryptography.HashAlgorithm", "System.IDisposable")

    def __init__(self, type_name: str, algorithm: str):
        self.TYPE, self.algorithm, self.closed = type_name, algorithm, False
        self.BASES = ("System.Security.Cryptography." + algorithm.upper(),) + HashAlgorithm.BASES

    def m_ComputeHash(self, data, *rest):
        if rest:
            data = v.to_bytes(data)[int(rest[0]):int(rest[0]) + int(rest[1])]
        if self.closed:
            raise dotnet_error("System.ObjectDisposedException", "Cannot access a disposed object.")
        return v.byte_array(hashlib.new(self.algorithm, v.to_bytes(data)).digest())

    def m_Dispose(self):
        self.closed = True

    def m_Clear(self):
        self.closed = True


def _provider(name: str, algorithm: str, managed: bool):
    full = "System.Security.Cryptography." + name

    def new(ctx, *args):
        if managed and managed_refused(ctx) or algorithm == "md5" and fips_enforced(ctx):
            raise dotnet_error("System.InvalidOperationException", FIPS_MESSAGE)
        return HashAlgorithm(full, algorithm)

    types.register(full, new=new, bases=("System.Security.Cryptography." + algorithm.upper(),
                                         "System.Security.Cryptography.HashAlgorithm"))
    return new


def _create(algorithm: str, managed_new):
    """``[SHA256]::Create()``: CryptoConfig builds the managed class by reflection, so its constructor's exception
    arrives wrapped in ``TargetInvocationException``."""

    def create(ctx, *args):
        if args:
            raise dotnet_error("System.NotSupportedException", "named algorithms are not emulated")
        try:
            return managed_new(ctx)
        except Exception as exc:
            raise dotnet_error("System.Reflection.TargetInvocationException",
                               "Exception has been thrown by the target of an invocation.", exc) from None

    return create


for _algorithm, _managed in (("sha1", "SHA1Managed"), ("sha256", "SHA256Managed"), ("sha384", "SHA384Managed"),
                             ("sha512", "SHA512Managed")):
    _new = _provider(_managed, _algorithm, managed=True)
    _provider(_algorithm.upper() + "CryptoServiceProvider", _algorithm, managed=False)
    _provider(_algorithm.upper() + "Cng", _algorithm, managed=False)
    types.register("System.Security.Cryptography." + _algorithm.upper(), statics={"Create": _create(_algorithm, _new)})
_provider("MD5CryptoServiceProvider", "md5", managed=False)


def _md5(ctx):
    if fips_enforced(ctx):  # MD5 is never FIPS-validated, in any implementation
        raise dotnet_error("System.InvalidOperationException", FIPS_MESSAGE)
    return HashAlgorithm("System.Security.Cryptography.MD5CryptoServiceProvider", "md5")


types.register("System.Security.Cryptography.MD5", statics={"Create": _create("md5", _md5)})
types.register("System.Security.Cryptography.HashAlgorithm")


# ---------------------------------------------------------------------------
# Convert, BitConverter
# ---------------------------------------------------------------------------
def _to_base64(ctx, data, *rest):
    """Convert.ToBase64String(byte[]) and (byte[], int offset, int length)."""
    raw = v.to_bytes(data)
    if len(rest) >= 2:
        offset, length = int(v.to_integer(rest[0], v.Int32)), int(v.to_integer(rest[1], v.Int32))
        if offset < 0 or length < 0 or offset + length > len(raw):
            raise dotnet_error("System.ArgumentOutOfRangeException", "Index was out of range. Must be non-negative "
                                                                     "and less than the size of the collection.")
        raw = raw[offset:offset + length]
    return base64.b64encode(raw).decode("ascii")


def _from_base64(ctx, text):
    text = v.to_string(text)
    try:
        return v.byte_array(base64.b64decode("".join(text.split()), validate=True))
    except (binascii.Error, ValueError):
        raise dotnet_error("System.FormatException", "The input is not a valid Base-64 string as it contains a "
                                                     "non-base 64 character, more than two padding characters, or an "
                                                     "illegal character among the padding characters. ") from None


def _bit_converter_to_string(ctx, data, *rest):
    return "-".join("%02X" % b for b in v.to_bytes(data))


types.register("System.Convert", statics={"ToBase64String": _to_base64, "FromBase64String": _from_base64})
types.register("System.BitConverter", statics={"ToString": _bit_converter_to_string})
