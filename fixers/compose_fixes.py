"""Compose fixers: format-preserving edits to the service (or the anchor / override file where a
value is written). A value written in an anchor shared by several services is edited in place
only because every service resolving to that very node has the same value, hence the same
finding; new keys go on the service itself, never into a merged anchor."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from batten.checks.base import image_defines_healthcheck
from batten.checks.sites import ComposeSite, NamedValueSite, PairSite, ServiceSite, ValueSite
from batten.fixers.probes import NoProbe, Probe
from batten.fixers.probes import choose as choose_probe
from batten.fixers.registry import FixContext, FixResult, NoFix, ParamSpec, fixer
from batten.fixers.yamledit import (
    Quoted,
    Raw,
    YamlDoc,
    YamlEditError,
    append_items,
    insert_entries,
    insert_under_key,
    merged_only,
    own,
    remove_entry,
    remove_item,
    replace_scalar,
    scalar,
)
from batten.live.imagefacts import ImageFacts, facts_for, service_image
from batten.live.values import (
    HEAP_FLOOR,
    MIB,
    declared_heaps,
    format_memory,
    memory_for_heap,
    memory_step,
    parse_memory,
)
from batten.model import Applicability, Edit
from batten.sources.compose import (
    ComposeFile,
    ComposeProject,
    ComposeValue,
    Service,
    parse_port,
    parse_volume,
)
from batten.sources.dockerfile import ImageRef
from batten.sources.yamlnodes import MappingNode, Node, ScalarNode, SequenceNode, walk

U, S, N = Applicability.UNSAFE, Applicability.SAFE, Applicability.NEEDS_INPUT


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _svc(ctx: FixContext[ComposeSite]) -> tuple[Service, ComposeProject]:
    """The service the finding is about and the compose project it belongs to (the scope)."""
    cp = ctx.finding.scope
    if not isinstance(cp, ComposeProject):
        raise TypeError(f"{ctx.finding.rule.id}: a compose site outside a compose project")
    return ctx.site.svc, cp


def _doc(cf: ComposeFile) -> YamlDoc:
    return YamlDoc(cf)


def _service_mapping(svc: Service) -> tuple[YamlDoc, ScalarNode, Node]:
    return _doc(svc.file), svc.key_node, svc.node


def add_to_service(svc: Service, entries: dict[str, Any]) -> Edit:
    """Insert keys on the service's own mapping (block or flow, in the file's style)."""
    doc, key, node = _service_mapping(svc)
    if isinstance(node, MappingNode) and node.value:
        for k in entries:
            if merged_only(node, k) is not None:
                raise YamlEditError(f"{k} comes from a merge key; adding it here would drop the merged value")
        return insert_entries(doc, node, entries, near=node)
    if isinstance(node, MappingNode) and node.flow_style:
        return insert_entries(doc, node, entries, near=node)
    return insert_under_key(doc, key, node if isinstance(node, ScalarNode | MappingNode) else None, entries,
                            near=doc.cf.top("services"))


def _own_value(svc: Service, key: str) -> ComposeValue | None:
    v = svc.get(key)
    return v if v is not None and v.node is not None and v.file is not None else None


def _written(svc: Service, key: str) -> ComposeValue:
    """The service's own `key` (to change or remove); NoFix when it is set somewhere else."""
    v = _own_value(svc, key)
    if v is None:
        raise NoFix(f"{key} is not written in the service's own mapping (a merge key, an extended service or "
                    "another file sets it): change it where it is written")
    return v


def _seq_node(v: ComposeValue) -> SequenceNode | None:
    return v.node if isinstance(v.node, SequenceNode) else None


def _set_or_add(svc: Service, key: str, value: Any) -> Edit:
    """Replace the scalar where `key` is written, or add it to the service."""
    v = _own_value(svc, key)
    if v is not None and isinstance(v.node, ScalarNode):
        return replace_scalar(_doc(v.file), v.node, value)
    if v is not None:
        raise YamlEditError(f"{key} is not a scalar")
    return add_to_service(svc, {key: value})


def _append_or_add(svc: Service, key: str, items: list[Any]) -> list[Edit]:
    v = _own_value(svc, key)
    if v is None:
        return [add_to_service(svc, {key: items})]
    seq = _seq_node(v)
    if seq is None:
        if isinstance(v.node, ScalarNode) and v.data is not None:  # `key: single` -> not a list form
            raise YamlEditError(f"{key} is a scalar")
        if isinstance(v.node, ScalarNode) and v.file is not None:  # `key:` (null) -> `key: [items]`
            return [Edit(v.file.path, v.node.start_mark.index, v.node.end_mark.index, " " + _flow(items))]
        raise YamlEditError(f"{key} is not a sequence")
    existing = {str(i.text).upper() for i in v.data}
    new = [i for i in items if str(i).upper() not in existing]
    if not new:
        return []
    if not seq.value:  # `key: []`
        return [Edit(v.file.path, seq.start_mark.index, seq.end_mark.index, _flow(new))]
    return [append_items(_doc(v.file), seq, new)]


def _flow(items: list[Any]) -> str:
    return "[" + ", ".join(scalar(i) for i in items) + "]"


def _remove_value(v: ComposeValue) -> Edit:
    """Delete the entry holding `v` from the mapping it is written in."""
    if v.file is None or v.key_node is None:
        raise YamlEditError("value without a key")
    mapping = _parent_mapping(v.file, v.key_node)
    return remove_entry(_doc(v.file), mapping, v.key_node.value)


def _parent(cf: ComposeFile, child: Node) -> tuple[Node, Any]:
    """The collection directly holding `child` as written in `cf`: (mapping, key node) when
    `child` is a key or a value of a mapping entry, (sequence, index) when it is an item."""
    assert cf.root is not None
    for _key, n in walk(cf.root):
        if isinstance(n, MappingNode):
            for k, v in n.value:
                if k is child or v is child:
                    return n, k
        elif isinstance(n, SequenceNode):
            for i, v in enumerate(n.value):
                if v is child:
                    return n, i
    raise YamlEditError("node not found in its file")


def _parent_mapping(cf: ComposeFile, key_node: Node) -> MappingNode:
    parent, _key = _parent(cf, key_node)
    if not isinstance(parent, MappingNode):
        raise YamlEditError("key not in a mapping")
    return parent


def _remove_seq_item(item: ComposeValue) -> Edit:
    """Remove a sequence item; when it is the only one, remove the whole key."""
    if item.file is None or item.node is None:
        raise YamlEditError("item without a node")
    seq, idx = _parent(item.file, item.node)
    if not isinstance(seq, SequenceNode):
        raise YamlEditError("item not in a sequence")
    if len(seq.value) == 1:
        holder, key = _parent(item.file, seq)  # drop the `key: [item]` entry
        if not isinstance(holder, MappingNode):
            raise YamlEditError("sequence without key")
        return remove_entry(_doc(item.file), holder, key.value)
    return remove_item(_doc(item.file), seq, idx)


def sharers(cp: ComposeProject, key: str, node: Node | None) -> list[str]:
    if node is None:
        return []
    return sorted(s.name for s in cp.services.values() if (v := s.get(key)) is not None and v.node is node)


def _shared_note(cp: ComposeProject, key: str, v: ComposeValue | None) -> str:
    names = sharers(cp, key, v.node if v is not None else None)
    if len(names) > 1:
        return f" The value is written once and shared by services {', '.join(names)}: the edit applies to all of them."
    return ""


# ---------------------------------------------------------------------------------------------
# image knowledge for better defaults
# ---------------------------------------------------------------------------------------------

def image_name(svc: Service) -> str:
    """The last path component of the service's image, lower-case: `postgres` for
    `docker.io/library/postgres:16`; "" when it is not a valid reference."""
    ref = ImageRef.parse((svc.image or "").lower())
    return ref.name if ref is not None else ""


# official images whose entrypoint starts as root, chowns its data and drops to a user
_PRIV_DROP = {
    "postgres": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
    "mysql": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
    "mariadb": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
    "redis": ["SETGID", "SETUID"],
    "valkey": ["SETGID", "SETUID"],
    "mongo": ["CHOWN", "SETGID", "SETUID"],
    "rabbitmq": ["CHOWN", "SETGID", "SETUID"],
    "nginx": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"],
    "httpd": ["NET_BIND_SERVICE", "SETGID", "SETUID"],
    "wordpress": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"],
    "elasticsearch": ["SETGID", "SETUID"],
}
_FILE_ENV = {  # images that read <VAR>_FILE for these variables
    "postgres": {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_INITDB_ARGS"},
    "mysql": {"MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD", "MYSQL_USER", "MYSQL_DATABASE"},
    "mariadb": {"MARIADB_ROOT_PASSWORD", "MARIADB_PASSWORD", "MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD",
                "MARIADB_USER", "MYSQL_USER"},
    "mongo": {"MONGO_INITDB_ROOT_PASSWORD", "MONGO_INITDB_ROOT_USERNAME"},
    "wordpress": {"WORDPRESS_DB_PASSWORD", "WORDPRESS_DB_USER", "WORDPRESS_AUTH_KEY", "WORDPRESS_SECURE_AUTH_KEY",
                  "WORDPRESS_LOGGED_IN_KEY", "WORDPRESS_NONCE_KEY", "WORDPRESS_AUTH_SALT",
                  "WORDPRESS_SECURE_AUTH_SALT", "WORDPRESS_LOGGED_IN_SALT", "WORDPRESS_NONCE_SALT"},
    "nextcloud": {"MYSQL_PASSWORD", "POSTGRES_PASSWORD", "NEXTCLOUD_ADMIN_PASSWORD", "REDIS_HOST_PASSWORD"},
    "minio": {"MINIO_ROOT_PASSWORD", "MINIO_ROOT_USER"},
    "rabbitmq": set(),
}
_EXTRA_TMPFS = {
    "postgres": ["/var/run/postgresql"],
    "nginx": ["/var/cache/nginx", "/var/run"],
    "httpd": ["/usr/local/apache2/logs"],
    "redis": [],
    "mysql": ["/var/run/mysqld"],
    "mariadb": ["/run/mysqld"],
}
_IMAGE_USER = {"postgres": "999:999", "redis": "999:999", "mysql": "999:999", "mariadb": "999:999",
               "mongo": "999:999", "node": "1000:1000", "nginx": "101:101", "memcached": "11211:11211",
               "rabbitmq": "999:999"}


def _container_ports(svc: Service) -> list[int]:
    out: list[int] = []
    ports = svc.get("ports")
    for item in (ports.data if ports is not None and ports.is_seq else []):
        p = parse_port(item)
        if p is not None:
            out.extend(p.target_ports)
    expose = svc.get("expose")
    for item in (expose.data if expose is not None and expose.is_seq else []):
        t = item.text.split("/")[0]
        if t.isdigit():
            out.append(int(t))
    return out


# ---------------------------------------------------------------------------------------------
# capabilities and privileges
# ---------------------------------------------------------------------------------------------


@fixer(
    "co.cap-drop",
    site=ServiceSite,
    title="Drop all capabilities (cap_drop: [ALL])",
    applicability=U,
    risk="a process that needs a dropped capability (chown, setuid, a low port, raw sockets) fails with 'Operation not permitted'",
    explanation="""Adds cap_drop: [ALL] and, in cap_add, only the capabilities the service needs
    (NET_BIND_SERVICE when it listens below 1024; CHOWN/SETUID/SETGID... for official images whose
    entrypoint drops from root to a user). Behaviour-changing: a process that relied on another
    default capability (chown, binding a low port, setuid helpers) fails until it is added back.""",
    params=(ParamSpec("cap_add", "capabilities to keep, comma-separated (empty for none)",
              risk="a capability the service needs and that is not kept fails its call with 'Operation not permitted'"),),
)
def fix_cap_drop(ctx: FixContext[ServiceSite]) -> FixResult:
    svc, _cp = _svc(ctx)
    if ctx.sources.get("cap_add") in ("user", "live", "config"):
        keep = [c.strip().upper() for c in ctx.value("cap_add").split(",") if c.strip()]
    else:
        keep = list(_PRIV_DROP.get(image_name(svc), []))
        if any(0 < p < 1024 for p in _container_ports(svc)) and "NET_BIND_SERVICE" not in keep:
            keep.append("NET_BIND_SERVICE")
        ctx.values["cap_add"] = ",".join(sorted(keep))
        if image_name(svc) in _PRIV_DROP:
            ctx.sources["cap_add"] = "evidence"  # what the official image's entrypoint needs
    edits = _append_or_add(svc, "cap_drop", ["ALL"])
    if keep:
        edits += _append_or_add(svc, "cap_add", sorted(keep))
    if not edits:
        raise NoFix("cap_drop holds ALL already and cap_add the capabilities kept")
    note = f" Keeps {', '.join(sorted(keep))}." if keep else ""
    return FixResult(edits, explanation=_spec("co.cap-drop").explanation + note)


def _spec(fid: str):
    from batten.fixers.registry import REGISTRY

    return REGISTRY[fid]


def _remove_subject_item(ctx: FixContext[ValueSite]) -> list[Edit]:
    """Remove the sequence item the finding is about (a cap_add or security_opt entry)."""
    return [_remove_seq_item(ctx.site.value)]


# the same remedy, removing the entry the rule found, under two fix ids
for _fid, _title, _risk, _explanation in (
    ("co.remove-cap", "Remove the dangerous capability",
     "a service that really uses the capability fails at the call that needs it",
     """Removes the capability from cap_add. Behaviour-changing if the service really uses it (then
     document why and isolate the service instead)."""),
    ("co.remove-security-opt", "Remove the entry that disables confinement",
     "a service that needs the unconfined profile has a system call refused",
     """Removes seccomp:unconfined / apparmor:unconfined / label:disable so the default profile
     applies again. Behaviour-changing if the service makes syscalls the default seccomp profile
     blocks (then ship a custom profile instead of none)."""),
):
    fixer(_fid, site=ValueSite, title=_title, applicability=U, risk=_risk, explanation=_explanation)(
        _remove_subject_item
    )


@fixer(
    "co.no-new-privileges",
    site=ServiceSite,
    title='Set security_opt: ["no-new-privileges:true"]',
    applicability=S,
    explanation="""Adds no-new-privileges:true to security_opt (merged into an existing list), so
    setuid binaries can no longer raise privileges. Safe for almost every service; images that
    switch users with su/sudo after start (rare) need their entrypoint to use setpriv/gosu first.""",
)
def fix_nnp(ctx: FixContext[ServiceSite]) -> list[Edit] | FixResult:
    svc, cp = _svc(ctx)
    edits = _nnp_edits(svc)
    why = privilege_gain(ctx.project, cp, svc)
    if why is None:
        return edits
    return FixResult(edits, applicability=U, risk=f"{why}: with no-new-privileges it no longer gains them "
                     "(sudo fails, setuid programs run unprivileged)",
                     explanation=_spec("co.no-new-privileges").explanation + f" Unsafe here: {why}.")


_SUDO_IMAGES = ("mcr.microsoft.com/devcontainers/", "mcr.microsoft.com/vscode/devcontainers/",
                "codercom/code-server", "gitpod/workspace-")
_SETUID_CHMOD = re.compile(r"\bchmod\s+(?:-\S+\s+)*(?:[ugoa]*\+[rwx]*s|[0-7]?[4-7][0-7]{3}\b)")
_SUDO_WORD = re.compile(r"(?:^|[\s;&|/'\"(])(?:sudo|su|doas)(?=$|\s)")


def privilege_gain(project: Any, cp: ComposeProject, svc: Service) -> str | None:
    """Why the service may rely on gaining privileges after start (sudo, su, setuid files), as
    far as batten knows from its command, its Dockerfile and the image; None when nothing shows."""
    if any(_SUDO_WORD.search(w) for w in service_command(svc)):
        return "its command uses sudo/su"
    facts = facts_for(service_image(project, cp, svc))
    if facts.sudo_or_setuid:
        return f"the image {facts.ref} has sudo or setuid files"
    staged = project.service_stage(svc) if svc.build is not None else None
    if staged is not None:
        from batten.fixers.dockerfile_fixes import _installed
        from batten.fixers.dockerfile_util import chain_run_text

        _df, stage = staged
        if {"sudo", "doas"} & _installed(stage):
            return "its Dockerfile installs sudo"
        text = chain_run_text(stage)
        if "sudoers" in text:
            return "its Dockerfile configures sudo"
        if _SETUID_CHMOD.search(text):
            return "its Dockerfile makes a file setuid"
        root = stage.root_image()
        base = root.raw.lower() if root is not None else ""
    else:
        base = (svc.image or "").lower()
    if base.startswith(_SUDO_IMAGES):
        return f"its base image {base} sets up sudo for its user"
    return None


def _nnp_edits(svc: Service) -> list[Edit]:
    v = _own_value(svc, "security_opt")
    if v is not None and v.is_seq:
        for item in v.data:
            t = item.text.replace(" ", "").lower()
            if t.startswith("no-new-privileges") and isinstance(item.node, ScalarNode):
                return [replace_scalar(_doc(item.file), item.node, "no-new-privileges:true")]  # type: ignore[arg-type]
    return _append_or_add(svc, "security_opt", [Raw_q("no-new-privileges:true", svc)])


def Raw_q(text: str, svc: Service) -> str:
    """A scalar quoted in the file's quote style (security_opt items are customarily quoted)."""
    from batten.fixers.yamledit import detect_style

    st = detect_style(_doc(svc.file), svc.node)
    return Raw(scalar(Quoted(text), st.quote))


@fixer(
    "co.remove-privileged",
    site=ServiceSite,
    title="Remove privileged: true",
    applicability=U,
    risk="a service that needs devices, mounts or kernel settings fails to start or loses that function",
    explanation="""Removes privileged, which gives the container every capability and every host
    device and turns off seccomp/AppArmor. Behaviour-changing: grant the specific capabilities
    (cap_add) or devices the service needs instead.""",
)
def fix_remove_privileged(ctx: FixContext[ServiceSite]) -> FixResult:
    svc, cp = _svc(ctx)
    v = _written(svc, "privileged")
    return FixResult([_remove_value(v)], explanation=_spec("co.remove-privileged").explanation
                     + _shared_note(cp, "privileged", v))


@fixer(
    "co.remove-host-ns",
    site=ServiceSite,
    title="Stop sharing the host namespace",
    applicability=U,
    risk="a service that watches host processes, the host network or IPC stops seeing them",
    explanation="""Removes pid/ipc/uts/userns_mode: host. Behaviour-changing for monitoring agents
    that inspect host processes; everything else runs unchanged.""",
)
def fix_remove_host_ns(ctx: FixContext[ServiceSite]) -> list[Edit]:
    svc, _cp = _svc(ctx)
    key = {"ns.host-pid": "pid", "ns.host-ipc": "ipc", "ns.host-uts": "uts", "ns.host-userns": "userns_mode"}.get(
        ctx.finding.rule.id)
    if key is None:
        raise NoFix(f"{ctx.finding.rule.id} names no namespace key this fix removes")
    return [_remove_value(_written(svc, key))]


# ---------------------------------------------------------------------------------------------
# filesystem
# ---------------------------------------------------------------------------------------------


@fixer(
    "co.read-only",
    site=ServiceSite,
    title="Read-only root filesystem with tmpfs",
    applicability=U,
    risk="a write outside the tmpfs paths and volumes fails with 'Read-only file system'",
    explanation="""Sets read_only: true and mounts tmpfs (noexec,nosuid) for the paths the service
    writes: /tmp and /run by default, more from live evidence (docker diff) or the image's known
    needs. Behaviour-changing: a write anywhere else now fails; add those paths to tmpfs or a
    volume.""",
    params=(ParamSpec("tmpfs_paths", "comma-separated paths to mount as tmpfs",
              risk="a path the service writes that is not listed fails with 'Read-only file system'"),
            ParamSpec("tmpfs_options", "tmpfs mount options")),
)
def fix_read_only(ctx: FixContext[ServiceSite]) -> FixResult:
    svc, _cp = _svc(ctx)
    paths = [p.strip() for p in ctx.value("tmpfs_paths").split(",") if p.strip()]
    if ctx.sources.get("tmpfs_paths") == "checklist":
        for extra in _EXTRA_TMPFS.get(image_name(svc), []):
            if extra not in paths:
                paths.append(extra)
        ctx.values["tmpfs_paths"] = ",".join(paths)
    opts = ctx.value("tmpfs_options")
    edits: list[Edit] = []
    ro = _own_value(svc, "read_only")
    tmpfs_v = _own_value(svc, "tmpfs")
    existing = set()
    if tmpfs_v is not None:
        items = tmpfs_v.data if tmpfs_v.is_seq else [tmpfs_v]
        existing = {i.text.split(":", 1)[0] for i in items}
    vols = svc.get("volumes")
    mounted = set()
    for item in (vols.data if vols is not None and vols.is_seq else []):
        vol = parse_volume(item)
        if vol is not None:
            mounted.add(vol.target)
    want = [f"{p}:{opts}" if opts else p for p in paths if p not in existing and p not in mounted]
    new_entries: dict[str, Any] = {}
    if ro is not None and isinstance(ro.node, ScalarNode):
        edits.append(replace_scalar(_doc(ro.file), ro.node, True))
    else:
        new_entries["read_only"] = True
    if want:
        if tmpfs_v is not None and tmpfs_v.is_seq:
            edits.extend(_append_or_add(svc, "tmpfs", want))
        elif tmpfs_v is not None:  # single string form: turn into a list on the same key
            node = tmpfs_v.node
            if not isinstance(node, ScalarNode) or tmpfs_v.file is None:
                raise NoFix("tmpfs is neither a string nor a list (compose.invalid)")
            edits.append(Edit(tmpfs_v.file.path, node.start_mark.index, node.end_mark.index,
                              _flow([node.value, *want])))
        else:
            new_entries["tmpfs"] = want
    if new_entries:
        edits.append(add_to_service(svc, new_entries))
    return FixResult(edits)


@fixer(
    "co.tmpfs-noexec",
    site=ValueSite,
    title="Mount tmpfs with noexec,nosuid",
    applicability=U,
    risk="a service that runs files from that tmpfs gets 'Permission denied'",
    explanation="""Adds noexec,nosuid,nodev to the tmpfs options (and drops exec/suid/dev).
    Behaviour-changing if the service executes files from that tmpfs.""",
)
def fix_tmpfs_noexec(ctx: FixContext[ValueSite]) -> list[Edit]:
    item = ctx.site.value
    if not isinstance(item.node, ScalarNode) or item.file is None:
        raise NoFix("the tmpfs entry is not a plain path[:options] string in the file")
    path, _, opts = item.text.partition(":")
    kept = [o for o in opts.split(",") if o.strip() and o.strip().lower() not in ("exec", "suid", "dev")]
    for o in ("noexec", "nosuid", "nodev"):
        if o not in [k.lower() for k in kept]:
            kept.append(o)
    return [replace_scalar(_doc(item.file), item.node, f"{path}:{','.join(kept)}")]


@fixer(
    "co.mount-read-only",
    site=ValueSite,
    title="Mount the host path read-only",
    applicability=U,
    risk="a service that writes to the host path gets 'Read-only file system'",
    explanation="""Makes the bind mount read-only (:ro, or read_only: true in long syntax).
    Behaviour-changing if the service writes there; better still, mount only the files it needs.""",
)
def fix_mount_ro(ctx: FixContext[ValueSite]) -> list[Edit]:
    item = ctx.site.value
    if item.file is None or item.node is None:
        raise NoFix("the mount is not written in this service's own volumes")
    if ctx.finding.evidence.get("socket"):
        raise NoFix("read-only does not make a socket safe: remove the mount or put a filtering proxy in front")
    if ctx.finding.evidence.get("keys"):
        raise NoFix("the proxy writes the certificates it obtains there: keep the file out of the repository and "
                    "readable by that service only (chmod 600)")
    if isinstance(item.node, MappingNode):
        ro = own(item.node, "read_only")
        if ro is not None:
            return [replace_scalar(_doc(item.file), ro[1], True)]  # type: ignore[arg-type]
        return [insert_entries(_doc(item.file), item.node, {"read_only": True})]
    if not isinstance(item.node, ScalarNode):
        raise NoFix("the volume is written neither as a string nor as a mapping")
    vol = parse_volume(item)
    if vol is None:
        raise NoFix(f"{item.node.value!r} is not a volume batten can read")
    if vol.read_only:
        raise NoFix("the mount is read-only already")
    text = item.node.value
    if vol.options:  # src:dst:opts -> src:dst:ro,opts (rw dropped)
        head = text[: text.rfind(":")]
        opts = [o for o in vol.options if o and o != "rw"]
        new = f"{head}:{','.join(['ro', *opts])}"
    else:
        new = f"{text}:ro"
    return [replace_scalar(_doc(item.file), item.node, new)]


# ---------------------------------------------------------------------------------------------
# resources
# ---------------------------------------------------------------------------------------------


_SHORT_LIMITS = re.compile(r"(?m)^\s+(mem_limit|cpus|mem_reservation|memswap_limit)\s*:")
_RESOURCES = re.compile(r"(?m)^\s+resources\s*:")


def _file_uses_short_limits(cf: ComposeFile) -> bool:
    got = cf.cache.get("short-limits")
    if got is None:
        text = cf.source.text
        got = cf.cache["short-limits"] = bool(_SHORT_LIMITS.search(text)) and not _RESOURCES.search(text)
    return bool(got)


def service_env(svc: Service) -> dict[str, str]:
    env = svc.get("environment")
    return {k: v.text for k, v in env.data.items()} if env is not None and env.is_map else {}


def service_command(svc: Service) -> list[str]:
    out: list[str] = []
    for key in ("entrypoint", "command"):
        v = svc.get(key)
        plain = v.plain() if v is not None else None
        if isinstance(plain, list):
            out.extend(str(x) for x in plain)
        elif plain is not None:
            out.append(str(plain))
    return out


def _size(text: str | None) -> int | None:
    try:
        return parse_memory(text) if text else None
    except ValueError:
        return None


def limit_values(ctx: FixContext, svc: Service) -> tuple[str, str, list[str]]:
    """(memory limit, memory reservation, notes) from the evidence: never below 1.5x a heap the
    service declares plus a floor, never below its memory reservation; a reservation the fix
    adds stays below the limit."""
    mem, rmem = ctx.value("memory"), ctx.value("memory_reservation")
    notes: list[str] = []
    heaps = declared_heaps(service_env(svc), service_command(svc))
    if heaps:
        heap, where = heaps[0]
        need = memory_for_heap(heap)
        have = _size(mem)
        if have is None or have < need:
            mem = format_memory(need)
            ctx.values["memory"], ctx.sources["memory"] = mem, "evidence"
            notes.append(f"memory {mem} is 1.5x the {format_memory(heap)} heap the service declares "
                         f"({where}) plus {format_memory(HEAP_FLOOR)}")
    reserved = _size(_text(svc.get("mem_reservation")) or _text(svc.get("deploy", "resources", "reservations", "memory")))
    have = _size(mem)
    if reserved is not None and have is not None and have < reserved:
        mem = format_memory(memory_step(reserved))
        ctx.values["memory"], ctx.sources["memory"] = mem, "evidence"
        notes.append(f"memory {mem}: not below the service's reservation")
    existing = _size(_text(svc.get("mem_limit")) or _text(svc.get("deploy", "resources", "limits", "memory")))
    have = existing if existing is not None else _size(mem)
    if have is not None and (_size(rmem) or 0) > have:
        rmem = format_memory(max(MIB, have // 2 // MIB * MIB))
        ctx.values["memory_reservation"] = rmem
    return mem, rmem, notes


def _text(v: ComposeValue | None) -> str | None:
    return v.text if v is not None and v.is_scalar else None


@fixer(
    "co.limits",
    site=ServiceSite,
    title="Set memory and CPU limits and reservations",
    applicability=N,
    explanation="""Adds deploy.resources.limits (cpus, memory) and reservations, or mem_limit /
    cpus / mem_reservation when the file already uses that style. The memory limit is at least
    1.5x a heap the service declares (-Xmx, NODE_OPTIONS...) plus 256M and never below its
    reservation; values come from there, from live usage with headroom when a container is running,
    from you, or else the checklist defaults (1.0 CPU / 512M, reserving 0.5 / 256M). A limit too low
    gets the service OOM-killed or throttled: check the numbers.""",
    params=(ParamSpec("memory", "memory limit (e.g. 512M)",
              risk="a limit below what the service needs gets it OOM-killed"), ParamSpec("cpus", "CPU limit (e.g. 1.0)",
              risk="a limit below what the service needs throttles it (slow responses, timeouts)"),
            ParamSpec("memory_reservation", "memory reservation"), ParamSpec("cpus_reservation", "CPU reservation")),
)
def fix_limits(ctx: FixContext[ServiceSite]) -> FixResult:
    svc, _cp = _svc(ctx)
    mem, rmem, notes = limit_values(ctx, svc)
    cpus, rcpus = ctx.value("cpus"), ctx.value("cpus_reservation")
    try:
        if float(rcpus) > float(cpus):
            rcpus = ctx.values["cpus_reservation"] = cpus  # a reservation above the limit is refused
    except ValueError:
        pass
    has_mem = svc.get("mem_limit") is not None or svc.get("deploy", "resources", "limits", "memory") is not None
    has_cpu = any(svc.get(k) is not None for k in ("cpus", "cpu_quota", "cpuset")) or \
        svc.get("deploy", "resources", "limits", "cpus") is not None
    has_res = svc.get("deploy", "resources", "reservations") is not None or svc.get("mem_reservation") is not None
    title = None
    if memory_only(ctx, has_mem, has_cpu):
        # a memory value that is not a checklist default does not wait for the CPU limit's: the
        # memory finding's fix writes the memory limit alone; the CPU limit (and the reservations
        # beside it) stay with the limits.cpu / limits.reservations findings, waiting for a value
        has_cpu = has_res = True
        title = "Set the memory limit (the CPU limit waits for a value)"
        notes.append(f"only the memory limit is written (its value is from {_SOURCE_WORDS[ctx.sources['memory']]}); "
                     "the CPU limit has only a checklist default, so the limits.cpu finding offers it "
                     "and it waits for a value (--set cpus=..., the config, --live or --accept-defaults)")
    for name, used in (("memory", not has_mem), ("cpus", not has_cpu), ("memory_reservation", not has_res),
                       ("cpus_reservation", not has_res)):
        if not used:
            ctx.sources[name] = "unused"  # the service sets it already: the value plays no part
    explanation = _spec("co.limits").explanation + "".join(f" Here {n}." for n in notes)
    res = _limit_edits(svc, mem, cpus, rmem, rcpus, has_mem, has_cpu, has_res, explanation)
    res.title = title
    return res


_SOURCE_WORDS = {"evidence": "the service's declared heap or reservation", "live": "the running container",
                 "user": "you", "config": "the config"}


def memory_only(ctx: FixContext, has_mem: bool, has_cpu: bool) -> bool:
    """Whether the limits.memory finding's fix writes the memory limit alone: its value is not a
    checklist default while the CPU limit's would be (and both are missing). A reservation given
    (--set, the config, the form) keeps the block whole: a value given is never left out."""
    return (ctx.finding.rule.id == "limits.memory" and not has_mem and not has_cpu
            and ctx.sources.get("memory") in _SOURCE_WORDS and ctx.sources.get("cpus") == "checklist"
            and all(ctx.sources.get(n) == "checklist" for n in ("memory_reservation", "cpus_reservation")))


def _limit_edits(svc: Service, mem: str, cpus: str, rmem: str, rcpus: str, has_mem: bool, has_cpu: bool,
                 has_res: bool, explanation: str) -> FixResult:
    if _file_uses_short_limits(svc.file) and svc.get("deploy", "resources") is None:
        entries: dict[str, Any] = {}
        if not has_mem:
            entries["mem_limit"] = mem.lower() if mem[-1:].isalpha() else mem
        if not has_cpu:
            entries["cpus"] = _num(cpus)
        if not has_res:
            entries["mem_reservation"] = rmem.lower() if rmem[-1:].isalpha() else rmem
        if not entries:
            raise NoFix("the service sets every limit and reservation this fix adds already")
        return FixResult([add_to_service(svc, entries)], explanation=explanation)
    limits: dict[str, Any] = {}
    if not has_cpu:
        limits["cpus"] = Quoted(cpus) if _quote_numbers(svc) else _num(cpus)
    if not has_mem:
        limits["memory"] = mem
    res: dict[str, Any] = {}
    if not has_res:
        res = {"cpus": Quoted(rcpus) if _quote_numbers(svc) else _num(rcpus), "memory": rmem}
    want: dict[str, Any] = {}
    if limits:
        want["limits"] = limits
    if res:
        want["reservations"] = res
    if not want:
        raise NoFix("the service sets every limit and reservation this fix adds already")
    return FixResult(_ensure_path(svc, ["deploy", "resources"], want), explanation=explanation)


def _num(text: str) -> Any:
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def _quote_numbers(svc: Service) -> bool:
    return '"' in svc.file.source.text or "'" not in svc.file.source.text


def _ensure_path(svc: Service, path: list[str], leaf: dict[str, Any]) -> list[Edit]:
    """Insert `leaf` under `path` of the service, creating the missing levels; where a leaf
    mapping already exists, only its missing keys are added."""
    doc, _key, node = _service_mapping(svc)
    if not isinstance(node, MappingNode):
        value: Any = leaf
        for p in reversed(path):
            value = {p: value}
        return [add_to_service(svc, value)]
    cur: MappingNode = node
    for i, p in enumerate(path):
        found = own(cur, p)
        if found is None:
            if merged_only(cur, p) is not None:
                raise YamlEditError(f"{p} comes from a merge key")
            value = leaf
            for q in reversed(path[i + 1 :]):
                value = {q: value}
            return [insert_entries(doc, cur, {p: value}, near=node)]
        _kn, vn = found
        if not isinstance(vn, MappingNode) or vn.flow_style:
            raise YamlEditError(f"{p} is not a block mapping")
        cur = vn
    edits: list[Edit] = []
    entries: dict[str, Any] = {}
    for k, v in leaf.items():
        sub = own(cur, k)
        if sub is None:
            entries[k] = v
        elif isinstance(v, dict) and isinstance(sub[1], MappingNode) and not sub[1].flow_style:
            missing = {kk: vv for kk, vv in v.items() if own(sub[1], kk) is None}
            if missing:
                edits.append(insert_entries(doc, sub[1], missing, near=node))
        else:
            raise YamlEditError(f"{k} is written in a form batten does not extend")
    if entries:
        edits.append(insert_entries(doc, cur, entries, near=node))
    if not edits:
        raise YamlEditError("nothing to add")
    return edits


@fixer(
    "co.pids-limit",
    site=ServiceSite,
    title="Set pids_limit",
    applicability=N,
    explanation="""Adds pids_limit so a fork bomb cannot exhaust the host's process table. 200 suits
    most services; raise it for workers that spawn many processes or threads.""",
    params=(ParamSpec("pids_limit", "maximum number of processes",
              risk="a service that runs more processes or threads than this cannot start new ones"),),
)
def fix_pids(ctx: FixContext[ServiceSite]) -> list[Edit]:
    svc, _cp = _svc(ctx)
    return [_set_or_add(svc, "pids_limit", _num(ctx.value("pids_limit")))]


# ---------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------


@fixer(
    "co.user",
    site=ServiceSite,
    title="Run the service as a non-root user",
    applicability=U,
    risk="files and volumes owned by root become unwritable, ports below 1024 cannot be bound",
    explanation="""Sets user: "<uid>:<gid>". Behaviour-changing: files and volumes the service
    writes must be writable by that UID (a fresh named volume is created root-owned), and ports
    below 1024 need NET_BIND_SERVICE. For official images the default is the image's own
    service account (postgres and redis: 999).""",
    params=(ParamSpec("user", "uid:gid to run as",
              risk="a uid that does not own the service's files cannot write them"),),
)
def fix_user(ctx: FixContext[ServiceSite]) -> list[Edit]:
    svc, _cp = _svc(ctx)
    value = ctx.value("user")
    if ctx.sources.get("user") == "checklist" or not value:
        own_user = _IMAGE_USER.get(image_name(svc))
        value = own_user or f"{ctx.config.fix_value('uid')}:{ctx.config.fix_value('gid')}"
        ctx.values["user"] = value
        if own_user:
            ctx.sources["user"] = "evidence"  # the official image's own service account
    return [_set_or_add(svc, "user", Quoted(value))] if _own_value(svc, "user") is None else \
        [_set_or_add(svc, "user", value)]


# ---------------------------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------------------------


@fixer(
    "co.bind-localhost",
    site=ValueSite,
    title="Publish the port on 127.0.0.1 only",
    applicability=U,
    risk="clients on other hosts can no longer reach the published port",
    explanation="""Binds the published port to one interface (127.0.0.1 by default), so the service
    is reachable from this host (or a reverse proxy on it) but not from the network.
    Behaviour-changing for clients on other machines.""",
    params=(ParamSpec("bind_ip", "host interface to bind"),),
)
def fix_bind(ctx: FixContext[ValueSite]) -> list[Edit]:
    item = ctx.site.value
    ip = ctx.value("bind_ip") or "127.0.0.1"
    if item.file is None or item.node is None:
        raise NoFix("the port is not written in this service's own ports")
    doc = _doc(item.file)
    if isinstance(item.node, MappingNode):
        hv = own(item.node, "host_ip")
        if hv is not None:
            return [replace_scalar(doc, hv[1], ip)]  # type: ignore[arg-type]
        return [insert_entries(doc, item.node, {"host_ip": ip})]
    if not isinstance(item.node, ScalarNode):
        raise NoFix("the port is written neither as a string nor as a mapping")
    p = parse_port(item)
    if p is None:
        raise NoFix(f"{item.node.value!r} is not a port batten can read")
    host = f"[{ip}]" if ":" in ip else ip
    proto = f"/{p.protocol}" if "/" in item.node.value else ""
    new = f"{host}:{p.published or ''}:{p.target}{proto}"
    return [replace_scalar(doc, item.node, new)]


@fixer(
    "co.internal-network",
    site=ServiceSite,
    title="Move the service to an internal network",
    applicability=U,
    risk="the service loses access to the outside network (downloads, APIs, DNS of external names)",
    explanation="""Adds an internal: true network (no route to the outside), moves the service onto
    it and adds it to the services that talk to this one (depends_on or a URL naming it), keeping
    them on their current networks. Behaviour-changing: the service can no longer reach the
    internet or services not on that network.""",
    params=(ParamSpec("network", "name of the internal network"),),
)
def fix_internal_network(ctx: FixContext[ServiceSite]) -> list[Edit]:
    svc, cp = _svc(ctx)
    if any(k.value == "extends" for k, _v in getattr(svc.node, "value", []) if isinstance(k, ScalarNode)):
        raise YamlEditError("service extends another: its networks merge with the base service's")
    net = ctx.value("network") or "backend"
    current = ctx.finding.evidence.get("network", "default")
    edits: list[Edit] = []
    consumers = [o for o in cp.services.values() if o is not svc and _talks_to(o, svc.name)]
    if not consumers:
        consumers = [o for o in cp.services.values() if o is not svc and
                     current in _nets(o)]
    # top-level network
    nets_v = cp.top.get("networks") if cp.top is not None else None
    home = cp.home(svc)  # the network is declared where the service is written (an included file)
    base = home.base
    own_v = home.top.get("networks") if home.top is not None else None
    if nets_v is not None and nets_v.is_map and net in nets_v.data:
        existing = nets_v.data[net]
        if not (existing.is_map and existing.get("internal") is not None):
            raise NoFix(f"a network named {net!r} exists and is not internal: batten does not change it; give "
                        "another name (network)")
    elif own_v is not None and own_v.file is base and isinstance(own_v.node, MappingNode):
        edits.append(insert_entries(_doc(base), own_v.node, {net: {"internal": True}}))
    elif own_v is None and base.root is not None:
        edits.append(insert_entries(_doc(base), base.root, {"networks": {net: {"internal": True}}}))
    else:
        raise NoFix("the top-level networks are not a mapping written in the service's own file")
    if net in _nets(svc):  # already on it beside `current` (an earlier fix made it a consumer): leave `current`
        edits.append(_leave_network(svc, current))
    else:
        edits.extend(e for e in [_join_network(svc, net, keep_current=False)] if e is not None)
    joins = [_join_network(o, net, keep_current=True) for o in consumers]
    edits.extend(e for e in joins if e is not None)
    if not edits:
        raise NoFix(f"the service is on {net!r} already, beside {current!r}; so is every service that talks to it")
    return edits


def _nets(svc: Service) -> list[str]:
    nets = svc.get("networks")
    if nets is None or nets.data is None:
        return ["default"]
    return [i.text for i in nets.data] if nets.is_seq else list(nets.data) if nets.is_map else ["default"]


def _talks_to(other: Service, name: str) -> bool:
    dep = other.get("depends_on")
    if dep is not None and ((dep.is_seq and any(i.text == name for i in dep.data)) or (dep.is_map and name in dep.data)):
        return True
    env = other.get("environment")
    pattern = re.compile(rf"(?:^|[/@:=\s]){re.escape(name)}(?::\d+|/|$)")
    return env is not None and env.is_map and any(pattern.search(v.text) for v in env.data.values())


def _leave_network(svc: Service, name: str) -> Edit:
    """Remove `name` from the networks the service lists."""
    v = _written(svc, "networks")
    if v.is_seq and isinstance(v.node, SequenceNode):
        item = next((i for i in v.data if i.text == name), None)
        if item is None:
            raise NoFix(f"the service does not list {name!r} among its networks")
        return _remove_seq_item(item)
    if v.is_map and isinstance(v.node, MappingNode):
        return remove_entry(_doc(v.file), v.node, name)  # type: ignore[arg-type]
    raise YamlEditError("networks in an unexpected form")


def _join_network(svc: Service, net: str, keep_current: bool) -> Edit | None:
    if net in _nets(svc):
        return None
    v = _own_value(svc, "networks")
    if v is None:
        items = ["default", net] if keep_current else [net]
        return add_to_service(svc, {"networks": items})
    if v.is_seq and isinstance(v.node, SequenceNode):
        if not keep_current:
            raise YamlEditError("the service lists its own networks already: moving it onto an internal one is left "
                                "to a person")
        return append_items(_doc(v.file), v.node, [net])  # type: ignore[arg-type]
    if v.is_map and isinstance(v.node, MappingNode):
        if not keep_current:
            raise YamlEditError("the service lists its own networks already: moving it onto an internal one is left "
                                "to a person")
        return insert_entries(_doc(v.file), v.node, {net: Raw("{}")})  # type: ignore[arg-type]
    raise YamlEditError("networks in an unexpected form")


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


def _secret_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@fixer(
    "co.env-secret",
    site=(NamedValueSite, ServiceSite),
    title="Move the credential out of the compose file",
    applicability=U,
    risk="the service must read the value from the secret file; one that only reads the variable loses it",
    explanation="""Moves the literal value into a file-based secret (secrets/<name>.txt, mode 0600,
    git-ignored) mounted at /run/secrets/<name>, and switches the variable to the image's *_FILE
    convention (postgres, mysql, mariadb, mongo, wordpress, minio...). For other images the value
    moves to the git-ignored .env file and the compose file refers to it as ${NAME}.
    Behaviour-changing only in where the value lives; rotate the credential, it was committed.""",
)
def fix_env_secret(ctx: FixContext[NamedValueSite | ServiceSite]) -> FixResult:
    site = ctx.site
    if not isinstance(site, NamedValueSite):
        where = ctx.finding.evidence.get("env_file", "its env_file")
        raise NoFix(f"the value is in {where}, not in the compose file: keep that file out of git (or use a "
                    "file-based secret) by hand")
    key, v = site.name, site.value
    svc, cp = _svc(ctx)
    if v.file is None or not isinstance(v.node, ScalarNode):
        raise NoFix(f"{key} is not a plain value written in the service's own environment")
    value = v.text
    if not value or "\n" in value:
        raise NoFix(f"the value of {key} spans lines: move it by hand")
    listed = v.key_node is v.node  # `- KEY=value` list form
    doc = _doc(v.file)
    img = image_name(svc)
    cp = cp.home(svc)  # an included service's secret, file and .env belong to its own project
    base_dir = cp.dir
    edits: list[Edit] = []
    if key in _FILE_ENV.get(img, set()):
        top = cp.top.get("secrets") if cp.top is not None else None
        sid, rel_file, path, write, declared = _secret_slot(ctx, top, base_dir, key, value)
        if write:
            edits.append(Edit(path, 0, 0, value))
        # the env entry -> KEY_FILE=/run/secrets/<sid>
        if listed:
            edits.append(replace_scalar(doc, v.node, f"{key}_FILE=/run/secrets/{sid}"))
        else:
            mapping = _parent_mapping(v.file, v.key_node)  # type: ignore[arg-type]
            own_key = own(mapping, key)
            if own_key is None:
                raise NoFix(f"{key} comes from a merge key (<<:): move it where it is written")
            kn, vn = own_key
            edits.append(Edit(doc.path, kn.start_mark.index, kn.end_mark.index, f"{key}_FILE"))
            edits.append(replace_scalar(doc, vn, f"/run/secrets/{sid}"))  # type: ignore[arg-type]
        edits.extend(_append_or_add(svc, "secrets", [sid]))
        entry = {sid: {"file": f"./{rel_file}"}}
        if declared:
            pass  # the very secret another service's fix declared (same file, same value): shared
        elif top is not None and top.file is cp.base and isinstance(top.node, MappingNode):
            edits.append(insert_entries(_doc(cp.base), top.node, entry))
        elif top is None and cp.base.root is not None:
            edits.append(insert_entries(_doc(cp.base), cp.base.root, {"secrets": entry}))
        else:
            raise NoFix("the top-level secrets are not a mapping written in the project's first compose file")
        edits.extend(_gitignore(ctx, base_dir, "secrets/"))
    else:
        # .env interpolation: the compose file refers to ${KEY}; the value lives in .env
        env_path = posixpath.join(base_dir, ".env") if base_dir else ".env"
        if env_path in ctx.project.tracked:
            raise NoFix(f"{env_path} is tracked by git: the secret would be committed there. Use a "
                        f"file-based secret (secrets/{_secret_id(key)}.txt, git-ignored, mounted with "
                        "compose secrets:) read by the service, or stop tracking .env (git rm --cached), "
                        "then re-run")
        env_text = ctx.project.aux_text(env_path)
        if env_text is not None and re.search(rf"(?m)^\s*(export\s+)?{re.escape(key)}\s*=", env_text):
            raise NoFix(f"{env_path} defines {key} already: decide by hand which value the service gets")
        line = f"{key}={_dotenv_quote(value)}"
        if env_text:
            sep = "" if env_text.endswith("\n") else "\n"
            edits.append(Edit(env_path, len(env_text), len(env_text), f"{sep}{line}\n"))
        else:
            edits.append(Edit(env_path, 0, 0, line + "\n"))
        ref = "${" + key + "}"
        if listed:
            edits.append(replace_scalar(doc, v.node, f"{key}={ref}"))
        elif v.node.style in ('"', "'"):
            edits.append(replace_scalar(doc, v.node, ref))
        else:
            edits.append(Edit(doc.path, v.node.start_mark.index, v.node.end_mark.index, f'"{ref}"'))
        edits.extend(_gitignore(ctx, base_dir, ".env"))
    return FixResult(edits, secrets=(value,))


def _secret_slot(ctx: FixContext, top: ComposeValue | None, base_dir: str, key: str,
                 value: str) -> tuple[str, str, str, bool, bool]:
    """Where the secret for `key` goes: (secret id, file relative to the compose directory, its
    project path, whether to write the file, whether the top level declares it already).

    A file or top-level secret of that name that holds this very value (written by another
    service's fix in the same run) is shared; one holding another value is never overwritten:
    the next free name (`<id>_2`, `<id>_3`...) is used instead."""
    base = _secret_id(key)
    for n in range(1, 10):
        sid = base if n == 1 else f"{base}_{n}"
        rel_file = posixpath.join("secrets", f"{sid}.txt")
        path = posixpath.join(base_dir, rel_file) if base_dir else rel_file
        held = ctx.project.aux_text(path)
        if ctx.project.file(path) is not None or (held is not None and held.rstrip("\r\n") != value):
            continue
        declared = top is not None and top.is_map and sid in top.data
        if declared:
            assert top is not None
            source = top.data[sid].get("file") if top.data[sid].is_map else None
            if source is None or posixpath.normpath(source.text) != rel_file:
                continue
        return sid, rel_file, path, held is None, declared
    raise NoFix(f"secrets/{base}.txt and nine more names are taken by other values: name the secret by hand")


def _dotenv_quote(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:@+-]+", value):
        return value
    return "'" + value.replace("'", "") + "'" if "'" not in value else '"' + value.replace('"', '\\"') + '"'


def _gitignore(ctx: FixContext, base_dir: str, entry: str) -> list[Edit]:
    """Add `entry` to the .gitignore next to the compose file unless it is already ignored."""
    from batten.sources.discover import GitIgnore

    path = posixpath.join(base_dir, ".gitignore") if base_dir else ".gitignore"
    text = ctx.project.aux_text(path)
    root_text = ctx.project.aux_text(".gitignore") if base_dir else None
    probe = entry.rstrip("/") + ("/x" if entry.endswith("/") else "")
    for gi_text, gi_base in ((text, base_dir), (root_text, "")):
        if gi_text:
            gi = GitIgnore()
            gi.add_text(gi_text, gi_base)
            rel = posixpath.join(base_dir, probe) if base_dir else probe
            if gi.ignored(rel, False) or gi.ignored(posixpath.dirname(rel), True):
                return []
    if text:
        sep = "" if text.endswith("\n") else "\n"
        return [Edit(path, len(text), len(text), f"{sep}{entry}\n")]
    return [Edit(path, 0, 0, f"{entry}\n")]


# ---------------------------------------------------------------------------------------------
# health and logging
# ---------------------------------------------------------------------------------------------


@fixer(
    "co.healthcheck",
    site=ServiceSite,
    title="Add a healthcheck",
    applicability=N,
    explanation="""Adds a healthcheck block with a probe the image is known to provide: its own
    client for official service images (pg_isready, redis-cli ping, mysqladmin ping...), or an
    HTTP probe with curl, Python or Node.js of a port the service listens on. Without such
    evidence it proposes no command: give one with healthcheck_cmd. Never added over an
    image's own HEALTHCHECK.""",
    params=(ParamSpec("healthcheck_cmd", "probe command (CMD-SHELL)",
              risk="a probe the image cannot run, or that asks the wrong port or path, marks a working container unhealthy"),
            ParamSpec("healthcheck_interval", "interval"), ParamSpec("healthcheck_timeout", "timeout"),
            ParamSpec("healthcheck_retries", "retries"), ParamSpec("healthcheck_start_period", "start period")),
)
def fix_healthcheck(ctx: FixContext[ServiceSite]) -> FixResult:
    svc, cp = _svc(ctx)
    if _own_value(svc, "healthcheck") is not None or svc.get("healthcheck") is not None:
        raise NoFix("the service disables its healthcheck on purpose: enable it by hand if it should have one")
    facts = facts_for(service_image(ctx.project, cp, svc))
    if facts.has_own_healthcheck or image_defines_healthcheck(svc.image):
        raise NoFix(f"the image {facts.ref or svc.image} defines its own HEALTHCHECK: a compose "
                    "healthcheck would override it")
    cmd = ctx.value("healthcheck_cmd").strip()
    test: list[str]
    if cmd:
        if "\n" in cmd or "\r" in cmd:
            raise NoFix("the health check command must be one line")
        test = ["CMD-SHELL", cmd]
        note = "runs the given command"
    else:
        probe = service_probe(ctx.project, cp, svc, facts)
        if isinstance(probe, NoProbe):
            raise NoFix(f"needs input: {probe.reason}; give the probe with --set healthcheck_cmd=...")
        test = probe.compose_test()
        note = f"uses {probe.note}"
        ctx.values["healthcheck_cmd"] = " ".join(test[1:]) if test[0] == "CMD-SHELL" else json.dumps(test)
        ctx.sources["healthcheck_cmd"] = "evidence" if probe.confirmed else "checklist"
    block = {
        "test": Raw(_flow_quoted(test)),
        "interval": ctx.value("healthcheck_interval"),
        "timeout": ctx.value("healthcheck_timeout"),
        "retries": _num(ctx.value("healthcheck_retries")),
        "start_period": ctx.value("healthcheck_start_period"),
    }
    return FixResult([add_to_service(svc, {"healthcheck": block})],
                     explanation=_spec("co.healthcheck").explanation + f" Here it {note}.")


def service_probe(project: Any, cp: ComposeProject, svc: Service, facts: ImageFacts) -> Probe | NoProbe:
    ports = _container_ports(svc)
    staged = project.service_stage(svc) if svc.build is not None else None
    if staged is not None:
        _df, stage = staged
        from batten.fixers.dockerfile_fixes import _expose_ports, _installed
        from batten.fixers.dockerfile_util import image_family, image_key

        repo, tag = image_key(stage)
        root = stage.root_image()
        base = facts if facts.inspected else facts_for(root.raw if root is not None else None)
        exposed = _expose_ports(stage)
        return choose_probe(base, name=repo.rsplit("/", 1)[-1], tag=tag, family=image_family(stage),
                            installed=_installed(stage), ports=ports + [p for p in exposed if p not in ports],
                            ports_from="from ports/expose/EXPOSE")
    ref = ImageRef.parse(svc.image or "")
    name = ref.name.lower() if ref is not None else image_name(svc)
    tag = (ref.tag or "").lower() if ref is not None else ""
    command = svc.get("command")
    custom_port = command is not None and "port" in str(command.plain()).lower()
    ports_all = ports + [p for p in facts.exposed if p not in ports]
    family = "alpine" if "alpine" in tag else "unknown"
    return choose_probe(facts, name=name, tag=tag, family=family, installed=set(), ports=ports_all,
                        ports_from="from ports/expose" + ("/the image" if facts.exposed else ""),
                        default_port_service=not custom_port)


def _flow_quoted(items: list[str]) -> str:
    import json

    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


@fixer(
    "co.log-rotation",
    site=ServiceSite,
    title="Rotate container logs",
    applicability=S,
    explanation="""Sets logging options max-size and max-file for the json-file/local driver, so
    logs cannot fill the host's disk. Only the oldest log lines are dropped.""",
    params=(ParamSpec("log_max_size", "largest log file"), ParamSpec("log_max_file", "log files kept")),
)
def fix_log_rotation(ctx: FixContext[ServiceSite]) -> FixResult:
    svc, cp = _svc(ctx)
    size, count = ctx.value("log_max_size"), ctx.value("log_max_file")
    opts = {"max-size": Quoted(size), "max-file": Quoted(count)}
    lg = svc.get("logging")
    if lg is None:
        return FixResult([add_to_service(svc, {"logging": {"driver": "json-file", "options": opts}})])
    if lg.file is None or not isinstance(lg.node, MappingNode):
        raise NoFix("logging is not a mapping written in this service")
    doc = _doc(lg.file)
    note = _shared_note(cp, "logging", lg)
    o = own(lg.node, "options")
    if o is None:
        if merged_only(lg.node, "options") is not None:
            raise NoFix("logging options come from a merge key (<<:): add max-size and max-file where they "
                        "are written")
        return FixResult([insert_entries(doc, lg.node, {"options": opts})],
                         explanation=_spec("co.log-rotation").explanation + note)
    _kn, onode = o
    if not isinstance(onode, MappingNode):
        raise NoFix("logging options are not a mapping batten can extend")
    missing = {k: v for k, v in opts.items() if own(onode, k) is None}
    if not missing:
        raise NoFix("the logging options set max-size and max-file already (the driver may ignore them)")
    return FixResult([insert_entries(doc, onode, missing)], explanation=_spec("co.log-rotation").explanation + note)


@fixer(
    "co.logging-default",
    site=ServiceSite,
    title="Stop discarding logs",
    applicability=S,
    explanation="Removes logging driver none, so the engine's default driver keeps the logs again.",
)
def fix_logging_default(ctx: FixContext[ServiceSite]) -> list[Edit]:
    svc, _cp = _svc(ctx)
    lg = _written(svc, "logging")
    if not isinstance(lg.node, MappingNode):
        raise NoFix("logging is not a mapping written in this service")
    if len(lg.node.value) == 1:
        return [_remove_value(lg)]
    drv = own(lg.node, "driver")
    if drv is None:
        raise NoFix("the driver comes from a merge key (<<:): change it where it is written")
    return [remove_entry(_doc(lg.file), lg.node, "driver")]  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# cross-file: Dockerfile secret mounts need build.secrets in compose
# ---------------------------------------------------------------------------------------------


def build_secret_edits(project_services: list[tuple[ComposeProject, Service]], secret_id: str, env_name: str) -> list[Edit]:
    """For each service building a Dockerfile: build.secrets += [id], and a top-level secret
    sourced from the environment variable `env_name`."""
    edits: list[Edit] = []
    done_tops: set[str] = set()
    for cp, svc in project_services:
        cp = cp.home(svc)  # the top-level secret goes where the service is written (an included file)
        b = _own_value(svc, "build")
        if b is None:
            continue
        args = svc.get("build", "args")
        if args is not None and args.is_map and env_name in args.data:
            # the value now travels as a secret: stop passing it as a build arg
            arg = args.data[env_name]
            if arg.file is not None and arg.key_node is arg.node and arg.node is not None:
                edits.append(_remove_seq_item(arg))  # `- NAME` / `- NAME=value` list item
            elif arg.file is not None and arg.key_node is not None:
                edits.append(_remove_value(arg))
        if isinstance(b.node, ScalarNode):
            # `build: .` -> `build: {context: ., secrets: [id]}`
            edits.append(Edit(b.file.path, b.node.start_mark.index, b.node.end_mark.index,  # type: ignore[union-attr]
                              "{context: " + scalar(b.node.value) + ", secrets: [" + secret_id + "]}"))
        elif isinstance(b.node, MappingNode):
            sec = own(b.node, "secrets")
            if sec is None:
                edits.append(insert_entries(_doc(b.file), b.node, {"secrets": [secret_id]}))  # type: ignore[arg-type]
            elif isinstance(sec[1], SequenceNode) and not any(
                isinstance(i, ScalarNode) and i.value == secret_id for i in sec[1].value
            ):
                edits.append(append_items(_doc(b.file), sec[1], [secret_id]))  # type: ignore[arg-type]
        key = cp.base.path
        if key in done_tops:
            continue
        done_tops.add(key)
        top = cp.top.get("secrets") if cp.top is not None else None
        entry = {secret_id: {"environment": env_name}}
        if top is not None and top.is_map and secret_id in top.data:
            continue
        if top is not None and top.file is cp.base and isinstance(top.node, MappingNode):
            edits.append(insert_entries(_doc(cp.base), top.node, entry))
        elif top is None and cp.base.root is not None:
            edits.append(insert_entries(_doc(cp.base), cp.base.root, {"secrets": entry}))
    return edits



@fixer(
    "co.build-secret",
    site=NamedValueSite,
    title="Pass the build arg as a BuildKit secret",
    applicability=U,
    risk="a build that reads the build argument gets it only through the secret mount",
    explanation="""Moves the secret-looking build arg to a BuildKit secret: the Dockerfile's ARG is
    removed and each RUN that uses it mounts the secret (RUN --mount=type=secret,...,env=NAME),
    the service lists it in build.secrets, and a top-level secret reads it from the same
    environment variable. Behaviour-changing for builds that pass the value differently.""",
)
def fix_build_secret(ctx: FixContext[NamedValueSite]) -> FixResult:
    from batten.checks.base import make, stage_chain
    from batten.fixers.registry import REGISTRY, build_fix

    svc, name = ctx.site.svc, ctx.site.name
    linked = ctx.project.service_stage(svc)
    if svc.build is None or svc.build.inline is not None:
        raise NoFix("the service builds no Dockerfile file of the project (dockerfile_inline or no build)")
    if linked is None:
        raise NoFix("the Dockerfile the service builds is not in the project")
    df, stage = linked
    for st in stage_chain(stage):
        for ins in st.instructions:
            if ins.keyword != "ARG":
                continue
            for pair in ins.pairs():
                if pair.key == name:
                    twin = make("secret.arg-env", f"ARG {name}", df.source.location(pair.key_span),
                                target=st.name or f"stage {st.index}", target_kind="stage",
                                subject=PairSite(st, ins, pair), scope=df)
                    fix = build_fix(REGISTRY["df.secret-mount"], twin, ctx.project, ctx.config)
                    return FixResult(list(fix.edits), secrets=fix.secrets)
    raise NoFix(f"the Dockerfile declares no ARG {name}: the build arg reaches nothing to move into a secret")
