# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of the sensor_config write path: sentences, diff, the manifest's file entries, retention.
(The change itself is driven through the win_mdi_sensor_proxy action, tests/unit/plugins/action.)"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _change as sa
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as cp
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_backup as sensor_backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_change as sensor_file_change
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _restart as sensor_restart
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _result as sensor_result

DIR = backup.DEFAULT_BACKUP_DIR
SET = {"state": "set", "configured": True, "url": "http://proxy.corp:8080", "username": "CORP\\svc",
       "password_set": True, "certificate_thumbprint": "AB" * 20}
NONE = {"state": "null", "configured": False, "url": None, "username": None, "password_set": False,
        "certificate_thumbprint": None}


def manifest_key(values: dict) -> remote.KeyRead:
    return remote.KeyRead(backup.MANIFEST_PATH, True, {k.lower(): remote.RegValue(k, "REG_SZ", None, v)
                                                       for k, v in values.items()})


def folder(stamp: str) -> str:
    return "%s\\atp_proxy_%s" % (DIR, stamp)


def test_describe_never_shows_more_than_url_user_and_whether_a_password_is_set():
    assert sa.describe(NONE) == "(none)" and sa.describe({}) == "(none)"
    assert sa.describe(SET) == "http://proxy.corp:8080 as CORP\\svc (password set)"
    assert sa.describe(dict(SET, username=None, password_set=False)) == "http://proxy.corp:8080"
    diff = sensor_result.diff_for("C:\\x\\SensorConfiguration.json", NONE, SET)
    assert "password: set (encrypted, certificate %s)" % ("AB" * 20) in diff["after"]
    assert diff["before"].splitlines()[1:] == ["state: null", "url: ", "username: ", "password: none"]


def test_write_sentence_in_both_moods():
    plan = cp.Plan(True, "the Url change", NONE, dict(SET, username=None, password_set=False))
    assert sa.write_sentence(plan, True) == "would write SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080"
    assert sa.write_sentence(plan, False).startswith("wrote SensorConfiguration.json: ")
    encrypted = cp.Plan(True, "", NONE, SET, encrypted=True, thumbprint="AB" * 20)
    assert sa.write_sentence(encrypted, False).endswith(", encrypted with the certificate %s" % ("AB" * 20))
    assert sensor_restart.restart_sentence("AATPSensorUpdater", [], True) == "would restart AATPSensorUpdater"


def test_the_manifest_keeps_sensor_backups_apart_from_the_wininet_ones_with_the_same_trust():
    json_backup = folder("20261201T081500000000Z") + "\\SensorConfiguration.json"
    reg_backup = folder("20261201T081500000000Z") + "\\before.reg"
    manifest = backup.manifest_from(manifest_key({json_backup: backup.sha256(b"{}"), reg_backup: backup.sha256(b"x"),
                                                  DIR: backup.SECURED}))
    assert [e.path for e in manifest.entries] == [reg_backup]  # a WinINet restore sees only its own
    assert [e.path for e in manifest.files] == [json_backup] and manifest.is_secured(DIR)
    assert backup.trust(manifest, json_backup, b"{}", None) == (True, "listed in the manifest with this SHA-256")
    assert backup.trust(manifest, json_backup, b"{ }", None)[0] is False
    assert sensor_backup.sensor_backups(manifest, DIR) == manifest.files and sensor_backup.sensor_backups(manifest, "D:\\Other") == []


def test_retention_keeps_the_newest_and_spares_a_folder_another_backup_shares():
    stamps = ["20261201T0815%02d000000Z" % i for i in range(4)]
    values = {folder(s) + "\\SensorConfiguration.json": backup.sha256(s.encode()) for s in stamps}
    values[folder(stamps[1]) + "\\before.reg"] = backup.sha256(b"wininet")  # the run shared its folder
    manifest = backup.manifest_from(manifest_key(values))
    pruned = sensor_backup.to_prune(manifest, DIR, 3)
    assert [e.folder for e in pruned] == [folder(stamps[0]), folder(stamps[1])]
    calls = []

    def execute(module, args):
        calls.append((module, args["path"]))
        return {"changed": True}

    change = sensor_file_change.SensorChange(execute, None, None, "C:\\S\\SensorConfiguration.json", b"", b"", manifest=manifest)
    change._prune(pruned)
    assert calls == [("ansible.windows.win_file", folder(stamps[0]))] + [
        ("ansible.windows.win_file", folder(stamps[1]) + "\\" + name)
        for name in ("SensorConfiguration.json", "SensorConfiguration.new.json", "manifest.reg")]
    assert change.pruned == [e.path for e in pruned]
    # The manifest.reg of the new backup forgets them and lists the new one with its hash.
    change.folder, change.old = folder("20261201T090000000000Z"), b"old bytes"
    text = regfile.decode(change._manifest_reg(pruned))
    assert '"%s"=-' % pruned[0].path.replace("\\", "\\\\") in text
    assert '"%s"="%s"' % (change.backup_file_path.replace("\\", "\\\\"), backup.sha256(b"old bytes")) in text


def test_a_restores_backups_never_push_out_the_backups_of_changes():
    """A review found restores (and undos) counted toward backup_keep: with keep 3, a restore deleted the change's
    backup a plain restore needs. Each kind keeps its own newest."""
    changes = ["20261201T0815%02d000000Z" % i for i in range(3)]
    restores = ["20261201T0816%02d000000Z" % i for i in range(2)]
    values = {folder(s) + "\\before.reg": backup.sha256(s.encode()) for s in changes}
    values.update({folder(s) + "_restore\\before.reg": backup.sha256(s.encode()) for s in restores})
    manifest = backup.manifest_from(manifest_key(values))
    assert backup.to_prune(manifest, DIR, 3, backup.RESTORE) == []  # two restores and the new one: 3
    assert [e.folder for e in backup.to_prune(manifest, DIR, 3)] == [folder(changes[0])]  # the oldest change
    assert [e.folder for e in backup.to_prune(manifest, DIR, 2, backup.RESTORE)] == [folder(restores[0]) + "_restore"]
