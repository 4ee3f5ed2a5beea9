"""Image filesystems read through the engine's export (batten.live.imagefs / imagefacts).

The reader is checked on synthetic exports (both archive layouts, whiteouts, gzip layers,
every bound) and on the real test engine with images imported from a busybox rootfs (never
pulled): one with a setuid file and an account without a password, one clean.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batten.live.imagecontent import (
    ImageContent,
    content_from_fs,
    contents_for_images,
    image_content,
    parse_accounts,
    parse_groups,
)
from batten.live.imagefs import ImageReadError, read_export

# ---------------------------------------------------------------------- synthetic exports
Item = tuple  # (name, kind, data_or_link, mode, uid)


def layer_tar(items: list[Item]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data, mode, uid in items:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = mode, uid, uid
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def f(name: str, data: bytes = b"", mode: int = 0o644, uid: int = 0) -> Item:
    return (name, "file", data, mode, uid)


def d(name: str, mode: int = 0o755) -> Item:
    return (name, "dir", b"", mode, 0)


def sym(name: str, target: str) -> Item:
    return (name, "sym", target, 0o777, 0)


def export(layers: list[bytes], *, oci: bool = False, config: dict | None = None,
           manifest_first: bool = False, gz: tuple[int, ...] = ()) -> bytes:
    """A `docker save` archive: legacy (<id>/layer.tar) or OCI (blobs/sha256/<hex>)."""
    members: list[tuple[str, bytes]] = []
    names = []
    for i, data in enumerate(layers):
        if i in gz:
            data = gzip.compress(data)
        name = f"blobs/sha256/{i:064x}" if oci else f"{i:064x}/layer.tar"
        names.append(name)
        members.append((name, data))
    cfg_name = f"blobs/sha256/{'c' * 64}" if oci else f"{'c' * 64}.json"
    members.append((cfg_name, json.dumps({"config": config or {}}).encode()))
    manifest = ("manifest.json", json.dumps([{"Config": cfg_name, "Layers": names}]).encode())
    members = [manifest, *members] if manifest_first else [*members, manifest]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def chunks(data: bytes, size: int = 7000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


BASE = [
    d("etc"), d("usr"), d("usr/bin"), sym("bin", "usr/bin"),
    f("usr/bin/busybox", b"\x7fELF", 0o755), sym("usr/bin/sh", "busybox"),
    f("usr/bin/wget", b"\x7fELF", 0o755), f("usr/bin/notes.txt", b"x", 0o644),
    f("usr/bin/su", b"\x7fELF", 0o4755), f("usr/bin/helper", b"\x7fELF", 0o4755),
    f("usr/bin/crontab", b"\x7fELF", 0o2755, 0),
    f("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/home/app:/bin/sh\n"
      b"toor:x:0:0::/root:/bin/sh\nguest::10002:10002::/:/bin/sh\n"),
    f("etc/shadow", b"root:*:19000:0:99999:7:::\napp::19000::::::\ntoor:$6$abc$def:1::::::\n"),
    f("etc/group", b"root:x:0:\napp:x:10001:\nstaff:x:10001:app\n"),
    sym("etc/os-release", "../usr/lib/os-release"), d("usr/lib"),
    f("usr/lib/os-release", b'PRETTY_NAME="Testix 1"\nID=testix\n'),
    d("srv"), d("srv/.git"), f("srv/.git/config", b"[core]"), f("root/.ssh/id_rsa", b"KEY"),
    f("root/.aws/credentials", b"[default]"), f("usr/share/doc/x/.npmrc", b""),
    f("etc/ssh/ssh_host_ed25519_key", b"KEY"), d("opt"), d("opt/data"),
    f("opt/data/a", b"1"), f("opt/data/b", b"2"),
]  # fmt: skip


@pytest.mark.parametrize("oci", [False, True], ids=["legacy", "oci"])
@pytest.mark.parametrize("manifest_first", [False, True], ids=["manifest-last", "manifest-first"])
def test_reads_both_layouts_and_applies_whiteouts(oci: bool, manifest_first: bool) -> None:
    top = layer_tar([
        f("usr/bin/.wh.wget"), f("opt/data/.wh..wh..opq"), f("opt/data/c", b"3"),
        f("etc/.wh.shadow"), f("etc/shadow", b"root:!:1::::::\n"),
    ])  # fmt: skip
    data = export([layer_tar(BASE), top], oci=oci, manifest_first=manifest_first,
                  config={"User": "app"})
    fs = read_export(chunks(data), "t")
    assert fs.layers == 2
    assert "/usr/bin/wget" not in fs.entries  # deleted by a whiteout
    assert [p for p in fs.entries if p.startswith("/opt/data/")] == ["/opt/data/c"]  # opaque
    assert fs.read("/etc/shadow") == b"root:!:1::::::\n"  # replaced in the upper layer
    assert fs.read("/etc/os-release") == b'PRETTY_NAME="Testix 1"\nID=testix\n'  # via symlink
    assert fs.entries["/usr/bin/helper"].mode == 0o4755
    assert fs.resolve("/bin/sh").path == "/usr/bin/busybox"  # /bin -> usr/bin, sh -> busybox
    assert fs.config == {"config": {"User": "app"}}


def test_gzip_layers_and_duplicated_legacy_layers() -> None:
    data = export([layer_tar([f("a", b"1")]), layer_tar([f("b", b"2")])], gz=(1,))
    fs = read_export(chunks(data), "t")
    assert sorted(fs.entries) == ["/a", "/b"]
    # legacy exports store a layer used twice as a symlink to the first copy
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        layer = layer_tar([f("x", b"1")])
        for name, payload in (("l1/layer.tar", layer),):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        link = tarfile.TarInfo("l2/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../l1/layer.tar"
        tar.addfile(link)
        man = json.dumps([{"Config": "none", "Layers": ["l1/layer.tar", "l2/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(man)
        tar.addfile(info, io.BytesIO(man))
    fs = read_export(chunks(buf.getvalue()), "t")
    assert fs.layers == 2 and sorted(fs.entries) == ["/x"]


def test_paths_cannot_climb_out_of_the_root() -> None:
    data = export([layer_tar([f("../../etc/passwd", b"evil:x:0:0::/:/bin/sh\n"), f("./a//b", b"")])])
    fs = read_export(chunks(data), "t")
    assert sorted(fs.entries) == ["/a/b", "/etc/passwd"]  # normalised, never outside /


def test_bounds_stop_the_read_with_one_line() -> None:
    big = export([layer_tar([f("big", b"\0" * 300_000)])])
    with pytest.raises(ImageReadError, match=r"larger than 0 MiB"):
        read_export(chunks(big), "t", max_bytes=100_000)
    bomb = export([layer_tar([f("zeros", b"\0" * 3_000_000)])], gz=(0,))
    assert len(bomb) < 100_000
    with pytest.raises(ImageReadError, match=r"unpack to more than 1 MiB"):
        read_export(chunks(bomb), "t", max_unpacked=1024 * 1024)
    many = export([layer_tar([f(f"f{i}") for i in range(50)])])
    with pytest.raises(ImageReadError, match=r"more than 20 files"):
        read_export(chunks(many), "t", max_entries=20)

    def slow() -> Iterator[bytes]:
        for c in chunks(big, 1000):
            time.sleep(0.01)
            yield c

    started = time.monotonic()
    with pytest.raises(ImageReadError, match=r"longer than 0.2s"):
        read_export(slow(), "t", deadline=0.2)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "data",
    [b"", b"not a tar at all" * 100, export([layer_tar([f("a")])])[:3000]],
    ids=["empty", "garbage", "truncated"],
)
def test_unreadable_exports_are_one_line_errors(data: bytes) -> None:
    with pytest.raises(ImageReadError) as err:
        read_export(chunks(data), "t")
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------- facts
def test_facts_from_a_filesystem() -> None:
    fs = read_export(chunks(export([layer_tar(BASE)])), "t")
    facts = content_from_fs(fs, "sha256:" + "a" * 64, {"Config": {"User": "app", "ExposedPorts": {"80/tcp": {}}}})
    assert {a.name: a.password for a in facts.accounts} == {
        "root": "locked", "app": "empty", "toor": "set", "guest": "empty",
    }  # fmt: skip
    assert [a.name for a in facts.empty_password_accounts] == ["app", "guest"]
    assert facts.duplicate_ids() == {"uid": {0: ["root", "toor"]}, "gid": {10001: ["app", "staff"]}}
    assert facts.has("sh") and facts.has("wget") and facts.has("busybox") and facts.has("su")
    assert not facts.has("notes.txt") and not facts.has("curl")
    assert facts.which("sh") == "/usr/bin/sh"
    assert [(s.path, s.mode, s.allowed) for s in facts.special_files] == [
        ("/usr/bin/crontab", "2755", False),
        ("/usr/bin/helper", "4755", False),
        ("/usr/bin/su", "4755", True),
    ]
    assert [s.path for s in facts.unexpected_setuid] == ["/usr/bin/crontab", "/usr/bin/helper"]
    assert [(j.path, j.kind) for j in facts.junk] == [
        ("/etc/ssh/ssh_host_ed25519_key", "key"),
        ("/root/.aws/credentials", "credentials"),
        ("/root/.ssh/id_rsa", "key"),
        ("/srv/.git", "git"),
    ]
    assert facts.distro == "Testix 1"
    assert facts.user == "app" and facts.runs_as_root is False
    assert facts.exposed_ports == ["80/tcp"]
    assert facts.uid_of("toor") == 0 and facts.uid_of("") == 0 and facts.uid_of("ghost") is None
    # JSON round trip; no password hash is ever kept
    text = json.dumps(facts.to_dict())
    assert "$6$" not in text
    assert ImageContent.from_dict(json.loads(text)) == facts


def test_account_parsing_edge_cases() -> None:
    accounts = parse_accounts(b"# c\n+nis\nbroken\nold:$1$x$y:5:5::/:/bin/sh\nnoshadow:x:6:6::/:\n", None)
    assert [(a.name, a.uid, a.password) for a in accounts] == [("old", 5, "set"), ("noshadow", 6, "unknown")]
    assert [(g.name, g.gid, g.members) for g in parse_groups(b"wheel:x:10:a,b\nbad\n")] == [
        ("wheel", 10, ("a", "b"))
    ]


class _Gateway:
    """Serves one synthetic export and counts how often it was asked (no engine needed)."""

    def __init__(self, data: bytes, image_id: str) -> None:
        self.data, self.image_id, self.exports = data, image_id, 0

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        return {"Id": self.image_id, "RepoTags": [ref], "Config": {"User": ""}}

    def export_image(self, ref: str) -> Iterator[bytes]:
        assert ref == self.image_id  # exported by id, never by a tag that could move
        self.exports += 1
        return chunks(self.data)


def test_cache_by_image_id_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BATTEN_NO_CACHE", raising=False)
    gw = _Gateway(export([layer_tar(BASE)]), "sha256:" + "b" * 64)
    first = image_content(gw, "x:1")
    again = image_content(gw, "x:1")
    assert gw.exports == 1 and again == first
    cached = tmp_path / "cache" / "images" / f"{'b' * 64}.json"
    assert stat.S_IMODE(os.stat(cached).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cached.parent).st_mode) == 0o700
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temp file left


def test_a_failed_read_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))
    gw = _Gateway(b"garbage" * 100, "sha256:" + "e" * 64)
    results = contents_for_images(gw, [gw.inspect_image("x:1"), gw.inspect_image("x:1")])
    assert list(results) == [gw.image_id] and isinstance(results[gw.image_id], str)
    with pytest.raises(ImageReadError):
        image_content(gw, "x:1")
    assert gw.exports == 1


# ---------------------------------------------------------------------- the real engine
WEAK_IMAGE = "batten-test/weak-image:1"
CLEAN_IMAGE = "batten-test/clean-image:1"
CLEAN_CHANGES = [
    "USER app",
    'CMD ["/bin/sh"]',
    "EXPOSE 8080",
    'HEALTHCHECK --interval=5s CMD ["/bin/true"]',
]


def rootfs_with(extra: list[Item]) -> bytes:
    """The test engine's busybox rootfs with ``extra`` members added or replaced."""
    from tests.support.engine import busybox_rootfs_tar

    drop = {item[0] for item in extra}
    buf = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(busybox_rootfs_tar())) as base,
        tarfile.open(fileobj=io.BytesIO(layer_tar(extra))) as added,
        tarfile.open(fileobj=buf, mode="w") as out,
    ):
        for member in base:
            if member.name not in drop:
                out.addfile(member, base.extractfile(member) if member.isreg() else None)
        for member in added:
            out.addfile(member, added.extractfile(member) if member.isreg() else None)
    return buf.getvalue()


def import_image(engine: Any, tag: str, rootfs: bytes, changes: list[str]) -> str:
    repo, _, version = tag.partition(":")
    engine.client.api.import_image_from_data(rootfs, repository=repo, tag=version, changes=changes)
    return str(engine.client.api.inspect_image(tag)["Id"])


@pytest.fixture(scope="module")
def test_images(docker_engine: Any) -> dict[str, str]:
    from tests.support.engine import BUSYBOX, GROUP, PASSWD

    weak = rootfs_with(
        [
            f("usr/local/bin/helper", BUSYBOX.read_bytes(), 0o4755),
            f("etc/shadow", b"root:*:19000:0:99999:7:::\napp::19000:0:99999:7:::\n", 0o640),
            f("etc/passwd", (PASSWD + "toor:x:0:0::/root:/bin/sh\n").encode()),
            f("app/.git/HEAD", b"ref: refs/heads/main\n"),
            f("root/.ssh/id_ed25519", b"-----BEGIN OPENSSH PRIVATE KEY-----\n", 0o600),
        ]
    )
    clean = rootfs_with(
        [
            f("etc/shadow", b"root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n", 0o640),
            f("etc/group", GROUP.encode()),
        ]
    )
    return {
        WEAK_IMAGE: import_image(docker_engine, WEAK_IMAGE, weak, ['CMD ["/bin/sh"]']),
        CLEAN_IMAGE: import_image(docker_engine, CLEAN_IMAGE, clean, CLEAN_CHANGES),
    }


@pytest.fixture
def gateway(engine: Any) -> Iterator[Any]:
    from batten.live.endpoint import Endpoint
    from batten.live.gateway import DockerGateway

    gw = DockerGateway(Endpoint(url=engine.url, source="--host"), timeout=10)
    yield gw
    gw.close()


@pytest.mark.engine
def test_facts_of_real_images(gateway: Any, test_images: dict[str, str], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))
    weak = image_content(gateway, WEAK_IMAGE)
    assert weak.image_id == test_images[WEAK_IMAGE] and weak.refs == [WEAK_IMAGE]
    assert [(s.path, s.mode, s.uid) for s in weak.unexpected_setuid] == [("/usr/local/bin/helper", "4755", 0)]
    assert [a.name for a in weak.empty_password_accounts] == ["app"]
    assert weak.duplicate_ids()["uid"] == {0: ["root", "toor"]}
    assert sorted(j.path for j in weak.junk) == ["/app/.git", "/root/.ssh/id_ed25519"]
    assert weak.user == "" and weak.runs_as_root is True
    assert weak.has("sh") and weak.has("nc") and weak.has("helper") and not weak.has("curl")

    clean = image_content(gateway, CLEAN_IMAGE)
    assert clean.image_id == test_images[CLEAN_IMAGE]
    assert clean.unexpected_setuid == [] and clean.empty_password_accounts == [] and clean.junk == []
    assert clean.duplicate_ids() == {"uid": {}, "gid": {}}
    assert clean.user == "app" and clean.runs_as_root is False and clean.uid_of(clean.user) == 10001
    assert clean.exposed_ports == ["8080/tcp"] and clean.healthcheck[0] == "CMD"
    assert (tmp_path / "cache" / "images" / f"{clean.image_id[7:]}.json").is_file()


@pytest.mark.engine
def test_whiteouts_of_a_real_layer(engine: Any, gateway: Any, test_images: dict[str, str],
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container deletes files; the committed layer carries whiteouts the reader applies."""
    monkeypatch.setenv("BATTEN_CACHE_DIR", str(tmp_path / "cache"))
    c = engine.run(WEAK_IMAGE, ["sh", "-c", "rm -r /usr/local/bin/helper /app && chmod u-s /bin/busybox"])
    c.wait(timeout=30)
    committed = engine.client.api.commit(c.id, repository="batten-test/committed", tag="1")
    try:
        facts = image_content(gateway, "batten-test/committed:1")
        assert facts.layers == 2
        assert facts.unexpected_setuid == [] and not facts.has("helper")
        assert [j.path for j in facts.junk] == ["/root/.ssh/id_ed25519"]
    finally:
        engine.client.api.remove_image(committed["Id"], force=True)


@pytest.mark.engine
def test_missing_images_are_never_pulled(gateway: Any, engine: Any) -> None:
    from batten.live.gateway import ImageNotFound

    before = {i["Id"] for i in engine.client.api.images(all=True)}
    with pytest.raises(ImageNotFound, match="not on the engine"):
        image_content(gateway, "batten-test/absent:1")
    with pytest.raises(ImageNotFound):
        list(gateway.export_image("batten-test/absent:1"))
    assert {i["Id"] for i in engine.client.api.images(all=True)} == before


def test_content_completes_the_fixes_view_of_an_image() -> None:
    from batten.live.imagecontent import with_content
    from batten.live.imagefacts import ImageFacts, from_inspect

    fs = read_export(chunks(export([layer_tar(BASE)])), "t")
    content = content_from_fs(fs, "sha256:" + "a" * 64, {"Config": {"User": "app"}})
    before = from_inspect("x:1", {"Config": {"User": "app"}})
    assert before.has_tool("wget") is None and before.sudo_or_setuid is None
    after = with_content(before, content)
    assert isinstance(after, ImageFacts)
    assert after.has_tool("wget") is True and after.has_tool("curl") is False
    assert after.has_shell is True and after.sudo_or_setuid is True
    assert after.used_ids() == ({0, 10001, 10002}, {0, 10001, 10002})


# ---------------------------------------------------------------------- rules, CLI, scan --live
def batten_cli(*args: str, timeout: float = 120) -> Any:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "batten", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=root)


def rule_ids(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["rule"] for f in findings)


@pytest.mark.engine
def test_image_command_on_a_weak_and_a_clean_image(engine: Any, test_images: dict[str, str]) -> None:
    out = batten_cli("image", WEAK_IMAGE, "--host", engine.url, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert rule_ids(doc["findings"]) == [
        "fs.setuid-binaries", "health.missing-dockerfile", "image.junk-files",
        "user.duplicate-id", "user.empty-password", "user.missing",
    ]  # fmt: skip
    by_rule = {f["rule"]: f for f in doc["findings"]}
    assert by_rule["user.empty-password"]["severity"] == "high"
    assert by_rule["fs.setuid-binaries"]["message"].endswith(": /usr/local/bin/helper (4755)")
    assert [s["path"] for s in doc["image"]["content"]["special_files"]] == ["/usr/local/bin/helper"]
    assert "uid 0 is shared by root, toor" in by_rule["user.duplicate-id"]["message"]
    assert doc["image"]["id"] == test_images[WEAK_IMAGE]
    assert "BEGIN OPENSSH" not in out.stdout  # leftovers are named, never read

    text = batten_cli("image", CLEAN_IMAGE, "--host", engine.url, "--color", "never")
    assert text.returncode == 0, text.stderr
    assert "default user: app" in text.stdout and "programs: sh, nc, busybox" in text.stdout
    assert "app (10001)" in text.stdout and text.stdout.rstrip().endswith("0 finding(s)")


@pytest.mark.engine
def test_image_command_never_pulls(engine: Any) -> None:
    before = {i["Id"] for i in engine.client.api.images(all=True)}
    out = batten_cli("image", "batten-test/absent:1", "--host", engine.url, timeout=60)
    assert out.returncode == 2
    assert out.stderr == "batten: image batten-test/absent:1 is not on the engine (batten never pulls)\n"
    assert {i["Id"] for i in engine.client.api.images(all=True)} == before


@pytest.mark.engine
def test_containers_show_image_findings_once_and_not_against_an_override(
    engine: Any, test_images: dict[str, str]
) -> None:
    engine.run(WEAK_IMAGE, ["sleep", "3600"], name="weak-as-root")
    engine.run(WEAK_IMAGE, ["sleep", "3600"], name="weak-as-app", user="10001:10001")
    out = batten_cli("containers", "--host", engine.url, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    image_findings = [f for f in doc["findings"] if f["target"] == WEAK_IMAGE]
    # the image's findings appear once, as the image's, whatever number of containers run it
    assert rule_ids(image_findings) == [
        "fs.setuid-binaries", "health.missing-dockerfile", "image.junk-files",
        "user.duplicate-id", "user.empty-password", "user.missing",
    ]  # fmt: skip
    images = {i["id"]: i for i in doc["images"]}
    assert images[test_images[WEAK_IMAGE]]["findings"] == 6
    by_name = {c["name"]: c for c in doc["containers"]}
    assert by_name["weak-as-root"]["image_id"] == test_images[WEAK_IMAGE]
    # the container that runs as 10001 is not charged with its image's root default user
    assert by_name["weak-as-app"]["findings"] == by_name["weak-as-root"]["findings"] - 2  # user.missing, live.user-root


@pytest.mark.engine
def test_snapshot_container_view_data(engine: Any, gateway: Any, test_images: dict[str, str]) -> None:
    from batten.live_scan import snapshot

    engine.run(CLEAN_IMAGE, ["sleep", "3600"], name="clean-1")
    snap = snapshot(gateway)
    view = next(c for c in snap.containers if c.name == "clean-1")
    assert view.image_view is not None and view.image_view.id == test_images[CLEAN_IMAGE]
    assert view.image_content.has("nc") and not view.image_content.has("wget")
    assert view.image_content.user == "app"
    assert view.image_findings == [] and view.image_view.error is None


@pytest.mark.engine
def test_scan_live_reads_the_images_a_project_uses(engine: Any, test_images: dict[str, str],
                                                    tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        f"  weak:\n    image: {WEAK_IMAGE}\n"
        f"  clean:\n    image: {CLEAN_IMAGE}\n"
        "  built:\n    build: ./built\n"
        "  rooted:\n    build: ./rooted\n"
    )
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "Dockerfile").write_text(f'FROM {CLEAN_IMAGE}\nCMD ["sleep", "1"]\n')
    (tmp_path / "rooted").mkdir()
    (tmp_path / "rooted" / "Dockerfile").write_text(f'FROM {WEAK_IMAGE}\nCMD ["sleep", "1"]\n')
    static = batten_cli("scan", str(tmp_path), "--format", "json", "--fail-on", "never")
    live = batten_cli("scan", str(tmp_path), "--live", "--host", engine.url, "--format", "json",
                      "--fail-on", "never")
    assert static.returncode == 0 and live.returncode == 0, live.stderr

    def users(doc: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((f["rule"], f.get("path") or "") for f in doc["findings"]
                      if f["rule"] in ("user.missing", "compose.user-unset") and f.get("path"))

    before, after = users(json.loads(static.stdout)), users(json.loads(live.stdout))
    assert ("user.missing", "built/Dockerfile") in before
    # the engine shows the clean image runs as app: no claim that it runs as root is left
    assert ("user.missing", "built/Dockerfile") not in after
    assert ("user.missing", "rooted/Dockerfile") in after
    image_rules = rule_ids([f for f in json.loads(live.stdout)["findings"] if f["target"] == WEAK_IMAGE])
    assert {"fs.setuid-binaries", "user.empty-password", "image.junk-files"} <= set(image_rules)


def _sarif_doc(stdout: str) -> dict[str, Any]:
    """A SARIF report, validated against the official schema (it ships beside the repository)."""
    import jsonschema

    schema = Path(__file__).resolve().parents[2] / "shared" / "sarif-schema-2.1.0.json"
    doc = json.loads(stdout)
    if schema.is_file():
        errors = sorted(jsonschema.Draft4Validator(json.loads(schema.read_text())).iter_errors(doc), key=str)
        assert not errors, errors[0]
    return doc


@pytest.mark.engine
def test_image_command_sarif_has_results_placed_on_the_image(engine: Any, test_images: dict[str, str]) -> None:
    out = batten_cli("image", WEAK_IMAGE, "--host", engine.url, "--format", "sarif")
    assert out.returncode == 0, out.stderr
    run = _sarif_doc(out.stdout)["runs"][0]
    assert "toolExecutionNotifications" not in run["invocations"][0]  # no finding left as a note
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert sorted(by_rule) == [
        "fs.setuid-binaries", "health.missing-dockerfile", "image.junk-files",
        "user.duplicate-id", "user.empty-password", "user.missing",
    ]  # fmt: skip
    image_id = test_images[WEAK_IMAGE]
    for res in run["results"]:
        (loc,) = res["locations"]
        assert loc["logicalLocations"] == [{"name": WEAK_IMAGE, "kind": "resource",
                                            "fullyQualifiedName": f"{WEAK_IMAGE}@{image_id}"}]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "batten-test/weak-image%3A1"
        assert res["properties"]["image"] == WEAK_IMAGE and res["properties"]["imageId"] == image_id
    assert by_rule["fs.setuid-binaries"]["properties"]["imagePaths"] == ["/usr/local/bin/helper"]
    assert by_rule["user.duplicate-id"]["properties"]["imagePaths"] == ["/etc/passwd"]
    assert "/app/.git" in by_rule["image.junk-files"]["properties"]["imagePaths"]
    assert "imagePaths" not in by_rule["user.missing"]["properties"]  # about the config, no file


@pytest.mark.engine
def test_scan_live_sarif_places_images_and_notes_untied_containers(engine: Any, test_images: dict[str, str],
                                                                   tmp_path: Path) -> None:
    engine.run(WEAK_IMAGE, ["sleep", "3600"], name="untied-weak")
    (tmp_path / "compose.yaml").write_text(f"services:\n  web:\n    image: {CLEAN_IMAGE}\n")
    out = batten_cli("scan", str(tmp_path), "--live", "--host", engine.url, "--format", "sarif",
                     "--fail-on", "never")
    assert out.returncode == 0, out.stderr
    run = _sarif_doc(out.stdout)["runs"][0]
    notes = run["invocations"][0].get("toolExecutionNotifications", [])
    # the project's own (no CI here), and the container no compose service declares: notifications
    untied = [n for n in notes if "container untied-weak" in n["message"]["text"]]
    assert "live.user-root" in {n["descriptor"]["id"] for n in untied}
    assert {n["descriptor"]["id"].split(".")[0] for n in notes if n not in untied} == {"supply"}
    assert not any("untied-weak" in json.dumps(r) for r in run["results"])
    weak = {r["ruleId"] for r in run["results"] if r["properties"].get("image") == WEAK_IMAGE}
    assert {"fs.setuid-binaries", "user.empty-password"} <= weak
    # a file's finding keeps its file
    assert any(r["locations"][0]["physicalLocation"]["artifactLocation"].get("uriBaseId") == "%SRCROOT%"
               for r in run["results"])
