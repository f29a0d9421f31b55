# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files, folders and ``Test-Path`` over the lab's file system, certificate stores and registry (TEST ONLY).

.NET Framework 4.x behaviour (https://learn.microsoft.com/dotnet/api/system.io.file.open?view=netframework-4.8):

* ``[IO.File]::Open(path, FileMode.CreateNew, ...)`` throws ``IOException`` "The file '<path>' already
  exists." when it does; ``FileMode.Create``/``Truncate``/``Open``/``OpenOrCreate`` as documented;
* a file another process holds open without sharing (``system_state.hold_file``: the sensor's services hold
  their files while they run) cannot be written, truncated or deleted: ``IOException`` "The process cannot
  access the file '<path>' because it is being used by another process."; it can still be read;
* a write the caller may not make (the lab's ``Host.can_write``: the ``not_admin`` fault, a protected folder)
  throws ``UnauthorizedAccessException`` "Access to the path '<path>' is denied.";
* ``[IO.Directory]::CreateDirectory`` creates the parents too and returns a ``DirectoryInfo``; a new file or
  folder inherits its parent's ACL and is owned as the lab's ``connection_owner`` says.

``Test-Path`` (about_Providers): ``-LiteralPath``/``-Path`` on the FileSystem drive, ``Cert:\\LocalMachine\\<store>
[\\<thumbprint>]`` (the lab's certificate stores) and ``HKLM:``/``HKU:``/``HKCU:`` keys. Wildcards are refused.
"""

from __future__ import annotations

import re

from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import Unsupported, dotnet_error
from tests.lab.pwsh.surface import cmdlets, types

FILE_MODE = types.register("System.IO.FileMode", enum={"CreateNew": 1, "Create": 2, "Open": 3, "OpenOrCreate": 4,
                                                       "Truncate": 5, "Append": 6})
FILE_ACCESS = types.register("System.IO.FileAccess", enum={"Read": 1, "Write": 2, "ReadWrite": 3})
SEEK_ORIGIN = types.register("System.IO.SeekOrigin", enum={"Begin": 0, "Current": 1, "End": 2})
FILE_SHARE = types.register("System.IO.FileShare", enum={"None": 0, "Read": 1, "Write": 2, "ReadWrite": 3,
                                                         "Delete": 4, "Inheritable": 16})


def _path(value) -> str:
    path = v.to_string(value)
    if not re.match(r"^[A-Za-z]:\\", path):
        raise Unsupported("the path '%s' (the lab resolves only absolute paths like C:\\...)" % path, 0)
    return path


def holder(ctx, path: str):
    from tests.lab import system_state

    return system_state.lock_holder(ctx.host, path)


def check_write(ctx, path: str) -> None:
    if not ctx.host.can_write(path):
        raise dotnet_error("System.UnauthorizedAccessException", "Access to the path '%s' is denied." % path)
    if ctx.host.path(path).is_file() and holder(ctx, path):
        raise dotnet_error("System.IO.IOException", "The process cannot access the file '%s' because it is being "
                                                    "used by another process." % path)


class FileStream(v.DotNetObject):
    TYPE = "System.IO.FileStream"
    BASES = ("System.IO.Stream", "System.IDisposable")

    def __init__(self, ctx, path: str, writable: bool):
        self.ctx, self.path, self.writable, self.closed = ctx, path, writable, False
        self.position = 0

    def m_Write(self, data, offset, count):
        if self.closed:
            raise dotnet_error("System.ObjectDisposedException", "Cannot access a closed file.")
        if not self.writable:
            raise dotnet_error("System.NotSupportedException", "Stream does not support writing.")
        chunk = v.to_bytes(data)[int(offset):int(offset) + int(count)]
        with open(self.ctx.host.path(self.path), "ab") as handle:
            handle.write(chunk)

    def m_Dispose(self):
        self.closed = True

    def m_Close(self):
        self.closed = True

    def p_Length(self):
        return v.Int64(self.ctx.host.path(self.path).stat().st_size)

    def m_Seek(self, offset, origin):
        """Stream.Seek(offset, SeekOrigin): the new position (reading only: the lab's writes append)."""
        if self.closed:
            raise dotnet_error("System.ObjectDisposedException", "Cannot access a closed file.")
        base = {"Begin": 0, "Current": self.position, "End": int(self.p_Length())}[SEEK_ORIGIN.convert(origin).name]
        position = base + int(v.to_integer(offset, v.Int64))
        if position < 0:
            raise dotnet_error("System.IO.IOException", "An attempt was made to move the file pointer before the "
                                                        "beginning of the file.")
        self.position = position
        return v.Int64(position)

    def m_Read(self, buffer, offset, count):
        """Stream.Read(byte[] buffer, int offset, int count): fills ``buffer`` in place from the position; returns
        how many bytes it read (0 at the end of the file)."""
        if self.closed:
            raise dotnet_error("System.ObjectDisposedException", "Cannot access a closed file.")
        offset, count = int(v.to_integer(offset, v.Int32)), int(v.to_integer(count, v.Int32))
        if not isinstance(buffer, v.PSArray) or offset < 0 or count < 0 or offset + count > len(buffer):
            raise dotnet_error("System.ArgumentException", "Offset and length were out of bounds for the array or "
                                                           "count is greater than the number of elements from index "
                                                           "to the end of the source collection.")
        with open(self.ctx.host.path(self.path), "rb") as handle:
            handle.seek(self.position)
            data = handle.read(count)
        for i, byte in enumerate(data):
            buffer[offset + i] = v.Byte(byte)
        self.position += len(data)
        return v.Int32(len(data))


def _open(ctx, path, mode, access=None, share=None):
    path = _path(path)
    mode = FILE_MODE.convert(mode).name
    access = FILE_ACCESS.convert(access).name if access is not None else ("Read" if mode == "Open" else "ReadWrite")
    local = ctx.host.path(path)
    if not local.parent.is_dir():
        raise dotnet_error("System.IO.DirectoryNotFoundException", "Could not find a part of the path '%s'." % path)
    exists = local.is_file()
    if mode == "CreateNew" and (exists or local.exists()):
        raise dotnet_error("System.IO.IOException", "The file '%s' already exists." % path)
    if mode in ("Open", "Truncate") and not exists:
        raise dotnet_error("System.IO.FileNotFoundException", "Could not find file '%s'." % path)
    writes = access != "Read" or mode in ("Create", "CreateNew", "Truncate", "Append")
    if writes:
        check_write(ctx, path)
    if mode in ("Create", "CreateNew", "Truncate") or (mode == "OpenOrCreate" and not exists):
        local.write_bytes(b"")
        if not exists:
            ctx.host.set_security(path, owner=ctx.host.connection_owner())
    return FileStream(ctx, path, writes)


def _read_all_bytes(ctx, path):
    path = _path(path)
    local = ctx.host.path(path)
    if not local.is_file():
        raise dotnet_error("System.IO.FileNotFoundException", "Could not find file '%s'." % path)
    return v.byte_array(local.read_bytes())


def _file_exists(ctx, path):
    try:
        return ctx.host.path(_path(path)).is_file()
    except Unsupported:
        return False


class DirectoryInfo(v.DotNetObject):
    TYPE = "System.IO.DirectoryInfo"
    BASES = ("System.IO.FileSystemInfo",)

    def __init__(self, path: str):
        self.path = path

    def p_FullName(self):
        return self.path

    def p_Name(self):
        return self.path.rstrip("\\").rsplit("\\", 1)[-1]

    def m_ToString(self, *args):
        return self.path


def _directory_exists(ctx, path):
    try:
        return ctx.host.path(_path(path)).is_dir()
    except Unsupported:
        return False


def _create_directory(ctx, path):
    path = _path(path)
    local = ctx.host.path(path)
    if local.is_file():
        raise dotnet_error("System.IO.IOException", "Cannot create '%s' because a file or directory with the same "
                                                    "name already exists." % path)
    if not local.is_dir():
        if not ctx.host.can_write(path):
            raise dotnet_error("System.UnauthorizedAccessException", "Access to the path '%s' is denied." % path)
        local.mkdir(parents=True)
    return DirectoryInfo(path)


def _combine(ctx, *parts):
    out = ""
    for part in (v.to_string(p) for p in parts):
        if re.match(r"^[A-Za-z]:|^\\", part) or not out:
            out = part
        else:
            out = out + ("" if out.endswith("\\") else "\\") + part
    return out


types.register("System.IO.File", statics={"Open": _open, "ReadAllBytes": _read_all_bytes, "Exists": _file_exists})
types.register("System.IO.Directory", statics={"Exists": _directory_exists, "CreateDirectory": _create_directory})
types.register("System.IO.Path", statics={"Combine": _combine})
types.register("System.IO.FileStream")
types.register("System.IO.DirectoryInfo")


# ---------------------------------------------------------------------------
# Test-Path
# ---------------------------------------------------------------------------
_CERT = re.compile(r"^cert:\\+(localmachine|currentuser)(?:\\+([^\\]+))?(?:\\+([^\\]+))?\\*$", re.IGNORECASE)
_REG = re.compile(r"^(HKLM|HKU|HKCU):\\?", re.IGNORECASE)


def test_path(ctx, path: str, kind: str | None) -> bool:
    cert = _CERT.match(path)
    if cert:
        from tests.lab import system_state

        location, store, thumb = cert.group(1), cert.group(2), cert.group(3)
        if location.lower() != "localmachine":
            raise Unsupported("the Cert:\\CurrentUser drive", 0)
        if store is None:
            return kind != "Leaf"
        stores = {k.lower(): c for k, c in system_state.read(ctx.host)["stores"].items()}
        entries = stores.get(("LocalMachine\\" + store).lower())
        if thumb is None:
            return entries is not None and kind != "Leaf"
        return kind != "Container" and any(system_state.thumbprint(c["pem"]) == thumb.upper() for c in entries or [])
    if _REG.match(path):
        return kind != "Leaf" and ctx.registry().key_exists(path)
    local = ctx.host.path(_path(path))
    if kind == "Leaf":
        return local.is_file()
    if kind == "Container":
        return local.is_dir()
    return local.exists()


def _test_path_cmdlet(call: cmdlets.Call) -> list:
    paths = call.get("LiteralPath")
    if paths is None:
        paths = call.get("Path")
        for p in paths or []:
            if re.search(r"[*?\[]", p):
                raise Unsupported("Test-Path with wildcards", call.line)
    kind = call.get("PathType")
    kind = kind.name if kind is not None else None
    kind = None if kind == "Any" else kind
    return [test_path(call.ctx, p, kind) for p in paths or []]


types.register("Microsoft.PowerShell.Commands.TestPathType", enum={"Any": 0, "Container": 1, "Leaf": 2})
cmdlets.register(cmdlets.Cmdlet("Test-Path", [
    cmdlets.Param("Path", "System.String[]", position=0), cmdlets.Param("LiteralPath", "System.String[]",
                                                                        aliases=("PSPath",)),
    cmdlets.Param("PathType", "Microsoft.PowerShell.Commands.TestPathType", aliases=("Type",))],
    _test_path_cmdlet, "Microsoft.PowerShell.Commands.TestPathCommand"))
