"""The rule catalogue: ids, titles, severities, rationales and cross-references (docs/rules.md is
generated from it by scripts/gen_rules_doc.py).

Ids are stable once shipped. One id covers the same weakness wherever it shows: in a Dockerfile
(DF), a compose file (CO), a running container (LC), a built image (IM) or the project (PR).
"""

from __future__ import annotations

import re

from batten.model import Area, Rule, Severity

C, H, M, L, I = (  # noqa: E741
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)


PRAGMA_TOOLS = ("hadolint", "checkov", "trivy", "kics")
"""Tools whose inline pragmas batten honours, for the rules whose `refs` name the tool's check."""


def _ref_ids(value: str) -> list[str]:
    """`CKV2_DOCKER_7/8/9, ~X` -> [CKV2_DOCKER_7, CKV2_DOCKER_8, CKV2_DOCKER_9, ~X]"""
    out: list[str] = []
    for part in re.split(r"[,\s]+", value.strip()):
        first, *more = part.split("/") if part else [""]
        if not first:
            continue
        out.append(first)
        stem = re.sub(r"\d+$", "", first)
        out.extend(stem + n if n.isdigit() else n for n in more)
    return out


def _pragma_ids(tool: str, ids: list[str]) -> tuple[str, ...]:
    """The ids whose pragmas silence the rule: every id of a pragma tool, except those marked `~`
    (the other tool's check only overlaps; see the comment at the rule). Trivy also accepts its
    older ids (DS-0002 -> DS002); its AVD- prefix is stripped when a pragma is read."""
    out: list[str] = []
    for i in ids:
        if i.startswith("~"):
            continue
        out.append(i)
        m = re.fullmatch(r"DS-0(\d{3})", i) if tool == "trivy" else None
        if m:
            out.append(f"DS{m.group(1)}")
    return tuple(out)


def _r(
    id: str,
    title: str,
    sev: Severity,
    area: Area,
    applies: str,
    rationale: str,
    *,
    refs: dict[str, str] | None = None,
    fix: str | None = None,
    remedy: str = "",
    default_off: bool = False,
) -> Rule:
    """One rule. `refs` maps other tools to the ids of their equivalent checks, written once:
    they are shown in reports and docs, and the pragmas of hadolint, checkov, Trivy and KICS
    naming them are honoured. An id marked `~` is only related: shown, not honoured."""
    refs = refs or {}
    return Rule(
        id=id,
        title=title,
        severity=sev,
        area=area,
        rationale=" ".join(rationale.split()),
        applies=frozenset(applies.split(",")),
        refs={tool: value.replace("~", "") for tool, value in refs.items()},
        fix_id=fix,
        remedy=" ".join(remedy.split()),
        default_off=default_off,
        pragmas={tool: ids for tool in PRAGMA_TOOLS if tool in refs
                 for ids in [_pragma_ids(tool, _ref_ids(refs[tool]))] if ids},
    )


_RULES: list[Rule] = [
    # ---------------------------------------------------------------- identity
    _r(
        "user.missing",
        "Final stage runs as root (no USER)",
        H, Area.USER, "DF,IM",
        """The stage that runs has no USER instruction and its base image runs as root, so the
        process starts as UID 0. Root inside a container is root on the host's kernel: any
        escape through a kernel, runtime or mount bug starts with full privileges, and files on
        writable volumes are created as root.""",
        refs={"checkov": "CKV_DOCKER_3", "trivy": "DS-0002", "kics": "fd54f200",
              "docker-bench": "4.1", "dockle": "CIS-DI-0001"},
        fix="df.add-user",
        remedy="""Create a user with a fixed UID/GID (default 10001:10001) in the final stage and
        switch to it with USER before CMD/ENTRYPOINT.""",
    ),
    _r(
        "user.final-root",
        "Final stage switches to USER root",
        H, Area.USER, "DF",
        """The last USER of the stage that runs is root (root, 0, root:*, 0:*). Whatever the
        earlier stages did, the container's process runs with UID 0 and every capability Docker
        grants by default.""",
        refs={"hadolint": "DL3002", "checkov": "CKV_DOCKER_8", "trivy": "DS-0002", "kics": "67fd0c4a"},
        fix="df.add-user",
        remedy="Switch to a non-root user with a fixed UID/GID after the steps that need root.",
    ),
    _r(
        "user.unfixed-id",
        "User created without a fixed UID/GID",
        M, Area.USER, "DF",
        """useradd/adduser/addgroup without -u/-g picks the next free id, which changes with the
        base image. Volume ownership, Kubernetes runAsUser and file permissions then break or,
        worse, silently match another account. The checklist asks for a specific UID/GID.""",
        fix="df.fix-user-ids",
        remedy="Pass explicit ids (for example -u 10001 / -g 10001) when creating the user and group.",
    ),
    _r(
        "user.useradd-sparse-log",
        "useradd with a large UID and no -l",
        L, Area.USER, "DF",
        """useradd records every new user in /var/log/lastlog and faillog, sparse files indexed
        by UID. Docker layers do not keep files sparse, so a UID of 100000 or more writes tens of
        megabytes (gigabytes for very large UIDs) of zeros into the image.""",
        refs={"hadolint": "DL3046"},
        fix="df.useradd-no-log-init",
        remedy="Add -l (--no-log-init) to the useradd command.",
    ),
    _r(
        "user.numeric",
        "USER is a name, not a UID",
        I, Area.USER, "DF",
        """A named USER cannot be verified as non-root by runAsNonRoot admission checks and may
        not resolve if /etc/passwd changes. A numeric UID:GID is unambiguous.""",
        refs={"hadolint": "DL3066"},
        fix="df.numeric-user",
        remedy="Use the numeric UID:GID the Dockerfile assigns to that user.",
    ),
    _r(
        "user.sudo",
        "sudo used in RUN",
        M, Area.USER, "DF",
        """sudo in an image means a password-less privilege escalation path is installed and
        configured; builds already run as root, so it is either pointless or a sign the
        runtime user can become root.""",
        refs={"hadolint": "DL3004", "checkov": "CKV2_DOCKER_1", "trivy": "DS-0010", "kics": "8ada6e80"},
        fix="df.drop-sudo",
        remedy="Run the command as root during the build (drop sudo) and switch USER afterwards.",
    ),
    _r(
        "user.chpasswd",
        "Password set with chpasswd in RUN",
        M, Area.USER, "DF",
        """chpasswd in a RUN sets (or blanks) an account's password at build time: the password
        is in the image history and the same on every container, and an account with a
        password invites su or login inside the container.""",
        refs={"checkov": "CKV2_DOCKER_17"},
        remedy="""Do not give image accounts passwords; lock them (passwd -l) and pass any
        credential the service needs at run time as a secret.""",
    ),
    _r(
        "compose.user-root",
        "Service runs as root (user: root/0)",
        H, Area.USER, "CO",
        """The service explicitly sets user to root or UID 0, overriding whatever non-root user
        the image may define.""",
        refs={"compose-lint": "CL-0018", "semgrep": "service-runs-as-root"},
        fix="co.user",
        remedy='Set user: "<uid>:<gid>" to a non-root account the image can run as.',
    ),
    _r(
        "compose.user-unset",
        "Service runs as root (no user:, image runs as root)",
        H, Area.USER, "CO",
        """The service sets no user: and the image it builds or pulls runs as root (its final
        stage has no non-root USER). No other tool checks this combination: most flag only an
        explicit user: root. For a pulled image batten did not inspect, the default user is known
        only for Docker Official Images (root unless they set USER) and a list of images that
        run as non-root; any other image is reported at medium with its user unknown, and
        scan --live reads the image's Config.User (a non-root image drops the finding, a root one
        confirms it at high).""",
        fix="co.user",
        remedy='Add user: "<uid>:<gid>" to the service, or add a non-root USER to its Dockerfile.',
    ),
    _r(
        "live.user-root",
        "Container runs as root",
        H, Area.USER, "LC",
        """The running container's effective user is root (empty, root, 0, root:root, 0:0).
        docker-bench 4.1 misses the root:root and 0:0 forms.""",
        refs={"docker-bench": "4.1"},
        remedy="Fix the source (USER in the Dockerfile or user: in compose) and recreate the container.",
    ),
    # ---------------------------------------------------------------- privileges
    _r(
        "priv.privileged",
        "Privileged container",
        C, Area.CAPABILITIES, "CO,LC",
        """privileged: true gives the container every capability, every host device and turns
        off seccomp, AppArmor and SELinux confinement. It is equivalent to root on the host.""",
        refs={"kics": "ae5b6871", "docker-bench": "5.5", "compose-lint": "CL-0002",
              "semgrep": "privileged-service"},
        fix="co.remove-privileged",
        remedy="Remove privileged and grant only the capabilities or devices the service needs.",
    ),
    _r(
        "caps.not-dropped",
        "Capabilities not dropped (no cap_drop: [ALL])",
        M, Area.CAPABILITIES, "CO,LC",
        """Docker grants 14 capabilities by default (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID,
        NET_RAW, ...). Most services need none of them; each one left is a tool for an attacker
        who gets code execution. Drop all and add back only what is needed.""",
        refs={"kics": "ce76b7d0", "compose-lint": "CL-0006"},
        fix="co.cap-drop",
        remedy="Add cap_drop: [ALL] (and cap_add: [NET_BIND_SERVICE] when it listens below 1024).",
    ),
    _r(
        "caps.dangerous-added",
        "Dangerous capability added",
        H, Area.CAPABILITIES, "CO,LC",
        """cap_add grants a capability that breaks container isolation (ALL, SYS_ADMIN,
        SYS_MODULE, SYS_PTRACE, SYS_RAWIO, DAC_READ_SEARCH, NET_ADMIN, BPF, ...). SYS_ADMIN alone
        allows mounting filesystems and is a well-known escape route.""",
        # KICS ce76b7d0 asks for cap_drop; skipping it says nothing about an added capability
        refs={"kics": "~ce76b7d0", "docker-bench": "5.4", "compose-lint": "CL-0024/CL-0011/CL-0027"},
        fix="co.remove-cap",
        remedy="Remove the capability; if the service really needs it, document why and isolate it.",
    ),
    _r(
        "priv.no-new-privileges",
        "no-new-privileges not set",
        M, Area.CAPABILITIES, "CO,LC",
        """Without no-new-privileges a process can gain privileges through setuid/setgid
        binaries (su, sudo, ping...) inside the image. Setting it blocks that escalation path at
        no cost for almost every service. Medium, as compose-lint rates it (KICS says high): it
        is defence in depth that matters once code already runs in the container, and only where
        the image holds setuid binaries.""",
        refs={"kics": "27fcc7d6", "docker-bench": "5.26", "compose-lint": "CL-0003",
              "semgrep": "no-new-privileges"},
        fix="co.no-new-privileges",
        remedy='Add "no-new-privileges:true" to security_opt.',
    ),
    _r(
        "seccomp.unconfined",
        "seccomp disabled",
        H, Area.CAPABILITIES, "CO,LC",
        """seccomp:unconfined removes Docker's default syscall filter, which blocks about 44
        dangerous syscalls (keyctl, add_key, unshare, mount...). Many kernel exploits go through
        exactly those.""",
        refs={"kics": "404fde2c", "docker-bench": "5.22", "compose-lint": "CL-0009",
              "semgrep": "seccomp-confinement-disabled"},
        fix="co.remove-security-opt",
        remedy="Remove seccomp:unconfined (or supply a custom profile that allows only what is needed).",
    ),
    _r(
        "apparmor.unconfined",
        "AppArmor disabled",
        M, Area.CAPABILITIES, "CO,LC",
        """apparmor:unconfined removes the docker-default AppArmor profile, which denies writes to
        /proc and /sys and mounts, on hosts that enforce AppArmor.""",
        refs={"docker-bench": "5.2", "compose-lint": "CL-0009"},
        fix="co.remove-security-opt",
        remedy="Remove apparmor:unconfined.",
    ),
    _r(
        "selinux.disabled",
        "SELinux separation disabled",
        M, Area.CAPABILITIES, "CO,LC",
        """label:disable turns off SELinux labelling for the container, so on SELinux hosts its
        processes are no longer confined to their own files.""",
        refs={"docker-bench": "5.3", "compose-lint": "CL-0009", "semgrep": "selinux-separation-disabled"},
        fix="co.remove-security-opt",
        remedy="Remove label:disable.",
    ),
    # ---------------------------------------------------------------- filesystem
    _r(
        "fs.rootfs-writable",
        "Root filesystem is writable",
        M, Area.FILESYSTEM, "CO,LC",
        """A writable root filesystem lets an attacker who gets code execution drop tools,
        modify binaries and persist across restarts of the process. read_only: true with tmpfs for
        the few paths that need writes (/tmp, /run) removes that ground.""",
        refs={"docker-bench": "5.13", "compose-lint": "CL-0007", "semgrep": "writable-filesystem-service"},
        fix="co.read-only",
        remedy="Add read_only: true and tmpfs entries for /tmp, /run and any path the service writes.",
    ),
    _r(
        "fs.tmpfs-noexec",
        "tmpfs mount allows exec/suid",
        L, Area.FILESYSTEM, "CO,LC",
        """A writable tmpfs without noexec,nosuid is the classic place to drop and run a payload
        once the root filesystem is read-only.""",
        refs={"compose-lint": "CL-0022"},
        fix="co.tmpfs-noexec",
        remedy="Mount tmpfs with noexec,nosuid,nodev unless the service needs to execute from it.",
    ),
    _r(
        "mount.docker-socket",
        "Docker socket mounted into the container",
        C, Area.FILESYSTEM, "CO,LC,DF",
        """Access to the engine's socket is root on the host: anyone in the container can start
        a privileged container that mounts /. A :ro mount does not help, the API is still fully
        usable.""",
        refs={"kics": "d6355c88", "docker-bench": "5.32", "compose-lint": "CL-0001",
              "semgrep": "exposing-docker-socket-volume"},
        remedy="Remove the mount, or put a filtering socket proxy in front of the engine.",
    ),
    _r(
        "mount.sensitive-host-path",
        "Sensitive host path mounted",
        H, Area.FILESYSTEM, "CO,LC",
        """Bind-mounting host system directories (/, /etc, /proc, /sys, /dev, /boot, /usr, /var,
        /root, /home...) exposes host secrets and, when writable, lets the container change the
        host.""",
        refs={"kics": "1c1325ff", "docker-bench": "5.6", "compose-lint": "CL-0013"},
        fix="co.mount-read-only",
        remedy="Mount only the specific files needed, read-only.",
    ),
    # ---------------------------------------------------------------- namespaces
    _r(
        "ns.host-network",
        "Host network namespace shared",
        H, Area.NETWORK, "CO,LC",
        """network_mode: host removes network isolation: the container sees every host interface,
        can bind any host port and reach services listening on localhost.""",
        refs={"kics": "071a71ff", "docker-bench": "5.10", "compose-lint": "CL-0008"},
        remedy="Remove network_mode: host and publish only the ports the service needs.",
    ),
    _r(
        "ns.host-pid",
        "Host PID namespace shared",
        H, Area.CAPABILITIES, "CO,LC",
        """pid: host lets the container see and signal every host process and read their
        environment through /proc.""",
        refs={"kics": "4f31dd9f", "docker-bench": "5.16", "compose-lint": "CL-0010"},
        fix="co.remove-host-ns",
        remedy="Remove pid: host.",
    ),
    _r(
        "ns.host-ipc",
        "Host IPC namespace shared",
        H, Area.CAPABILITIES, "CO,LC",
        """ipc: host shares System V IPC and POSIX shared memory with the host, so the container
        can read or corrupt other processes' shared memory.""",
        refs={"kics": "baa3890f", "docker-bench": "5.17", "compose-lint": "CL-0010"},
        fix="co.remove-host-ns",
        remedy="Remove ipc: host.",
    ),
    _r(
        "ns.host-uts",
        "Host UTS namespace shared",
        M, Area.CAPABILITIES, "CO,LC",
        """uts: host lets the container change the host's hostname and domain name.""",
        refs={"docker-bench": "5.21"},
        fix="co.remove-host-ns",
        remedy="Remove uts: host.",
    ),
    _r(
        "ns.host-userns",
        "User namespace remapping disabled",
        M, Area.CAPABILITIES, "CO,LC",
        """userns_mode: host opts the container out of the daemon's user-namespace remapping, so
        root in the container is root on the host again.""",
        refs={"kics": "8af7162d", "docker-bench": "5.31"},
        fix="co.remove-host-ns",
        remedy="Remove userns_mode: host.",
    ),
    # ---------------------------------------------------------------- resources
    _r(
        "limits.memory",
        "No memory limit",
        M, Area.RESOURCES, "CO,LC",
        """Without a memory limit one leaking or attacked container can exhaust the host's
        memory and get other services OOM-killed.""",
        refs={"kics": "bb9ac4f7", "docker-bench": "5.11", "compose-lint": "CL-0026"},
        fix="co.limits",
        remedy="Set deploy.resources.limits.memory (or mem_limit, keeping the file's style).",
    ),
    _r(
        "limits.cpu",
        "No CPU limit",
        L, Area.RESOURCES, "CO,LC",
        """Without a CPU limit a busy or compromised container can starve every other workload
        on the host.""",
        refs={"kics": "6b610c50", "docker-bench": "5.12", "compose-lint": "CL-0026"},
        fix="co.limits",
        remedy="Set deploy.resources.limits.cpus (or cpus:, keeping the file's style).",
    ),
    _r(
        "limits.pids",
        "No PID limit",
        M, Area.RESOURCES, "CO,LC",
        """Without pids_limit a fork bomb inside the container exhausts the host's process table
        and takes the whole machine down.""",
        refs={"kics": "221e0658", "docker-bench": "5.29"},
        fix="co.pids-limit",
        remedy="Set pids_limit (for example 200).",
    ),
    _r(
        "limits.reservations",
        "No resource reservations",
        I, Area.RESOURCES, "CO",
        """The checklist sets reservations beside limits so the scheduler keeps room for the
        service under pressure.""",
        fix="co.limits",
        remedy="Set deploy.resources.reservations (cpus, memory).",
    ),
    # ---------------------------------------------------------------- network
    _r(
        "ports.bind-all-interfaces",
        "Port published on all interfaces",
        M, Area.NETWORK, "CO,LC",
        """A published port without a host IP binds 0.0.0.0 and ::, exposing the service on
        every interface of the host; Docker's iptables rules also bypass host firewalls such as
        ufw.""",
        refs={"kics": "451d79dc", "docker-bench": "5.14", "compose-lint": "CL-0005",
              "dclint": "no-unbound-port-interfaces"},
        fix="co.bind-localhost",
        remedy='Bind to an explicit interface, e.g. "127.0.0.1:8080:8080" behind a reverse proxy.',
    ),
    _r(
        "ports.privileged",
        "Privileged port published",
        L, Area.NETWORK, "CO,LC",
        """Ports below 1024 need NET_BIND_SERVICE in the container or are mapped from privileged
        host ports; an unprivileged high port behind a proxy needs neither.""",
        refs={"kics": "bc2908f3", "docker-bench": "5.8"},
        remedy="Map the host side to a high port (80 -> 8080) or listen on a high port in the container.",
    ),
    _r(
        "ports.ssh-exposed",
        "SSH port exposed",
        M, Area.NETWORK, "DF,LC",
        """Running sshd in a container adds a network-facing daemon, keys and passwords to manage;
        docker exec covers the same need without an open port.""",
        refs={"checkov": "CKV_DOCKER_1", "trivy": "DS-0004", "kics": "5907595b", "docker-bench": "5.7"},
        fix="df.remove-expose",
        remedy="Remove 22 from EXPOSE and drop sshd from the image.",
    ),
    _r(
        "ports.invalid",
        "EXPOSE with an invalid port",
        L, Area.NETWORK, "DF",
        """EXPOSE takes a port (0-65535) or a range, optionally with /tcp, /udp or /sctp in lower
        case. A port out of range, a host mapping (80:80) or an unknown protocol is an error the
        build or the engine rejects, or documents a port the service does not use.""",
        refs={"hadolint": "DL3011", "trivy": "DS-0008", "kics": "71bf8cf8",
              "buildkit": "ExposeInvalidFormat, ExposeProtoCasing", "semgrep": "invalid-port"},
        fix="df.expose-protocol-case",
        remedy="""Write the port the container listens on (publishing to the host is for docker
        run -p or compose ports:); write the protocol in lower case.""",
    ),
    _r(
        "network.not-isolated",
        "Internal service on a non-internal network",
        L, Area.NETWORK, "CO",
        """A service that publishes no port (a database, a cache) shares a network that is not
        internal: true with internet-facing services, so it can reach the outside world and
        every neighbour can reach it. The checklist asks for isolated networks.""",
        fix="co.internal-network",
        remedy="Put backend services on a dedicated network with internal: true.",
    ),
    # ---------------------------------------------------------------- secrets
    _r(
        "secret.arg-env",
        "Secret passed through ARG/ENV",
        H, Area.SECRETS, "DF,CO,IM",
        """ARG and ENV values are stored in the image: ENV in its config, ARG in the build
        history of every layer that uses it. Anyone who can pull the image can read them with
        docker history or docker inspect.""",
        refs={"hadolint": "DL3064", "trivy": "DS-0031", "dockle": "CIS-DI-0010",
              "buildkit": "SecretsUsedInArgOrEnv"},
        fix="df.secret-mount",
        remedy="""Use a BuildKit secret mount (RUN --mount=type=secret,id=...,env=...) and pass
        the secret with compose build.secrets.""",
    ),
    _r(
        "secret.value-hardcoded",
        "Hard-coded credential",
        H, Area.SECRETS, "DF,CO",
        """A literal password, token or key in a Dockerfile or compose file ends up in version
        control, in every clone and in CI logs, and cannot be rotated without a commit.""",
        refs={"kics": "a88baa34", "compose-lint": "CL-0020/CL-0021"},
        fix="co.env-secret",
        remedy="""Move the value to a file-based secret (compose secrets:) and use the image's
        *_FILE convention, or read it from the environment at deploy time.""",
    ),
    _r(
        "secret.files-in-image",
        "Credential files copied into the image",
        H, Area.SECRETS, "DF,IM",
        """COPY or ADD of key files, .env files or credentials (or of a whole context that
        contains them without a .dockerignore guard) bakes them into a layer, where they stay even
        if a later step deletes them.""",
        # Trivy DS-0031 is about secrets in ENV/ARG; ignoring it does not cover secret files
        refs={"trivy": "~DS-0031", "dockle": "CIS-DI-0010", "buildkit": "CopyIgnoredFile"},
        remedy="Exclude them in .dockerignore and pass what the build needs as a secret mount.",
    ),
    # ---------------------------------------------------------------- health
    _r(
        "health.missing-dockerfile",
        "No HEALTHCHECK in the final stage",
        L, Area.HEALTH, "DF,IM",
        """Without a health check the engine only knows whether the process exists, not whether
        it works: a hung service keeps receiving traffic and is never restarted.""",
        refs={"hadolint": "DL3057", "checkov": "CKV_DOCKER_2", "trivy": "DS-0026", "kics": "b03a748a",
              "docker-bench": "4.6", "dockle": "CIS-DI-0006"},
        fix="df.healthcheck",
        remedy="Add a HEALTHCHECK that probes the service (or rely on a compose/Kubernetes probe).",
    ),
    _r(
        "health.multiple",
        "More than one HEALTHCHECK in a stage",
        L, Area.HEALTH, "DF",
        """Only the last HEALTHCHECK of a stage takes effect; the earlier ones mislead whoever
        reads the file about how the service is probed.""",
        refs={"hadolint": "DL3012", "trivy": "DS-0023"},
        fix="df.single-healthcheck",
        remedy="Keep only the last HEALTHCHECK.",
    ),
    _r(
        "health.missing-compose",
        "Service has no healthcheck",
        L, Area.HEALTH, "CO",
        """Neither the service nor its image defines a health check, so depends_on cannot wait for
        readiness and a hung container is never detected. A HEALTHCHECK in the Dockerfile counts.""",
        refs={"kics": "698ed579"},
        fix="co.healthcheck",
        remedy="Add a healthcheck: block (or a HEALTHCHECK to the service's Dockerfile).",
    ),
    _r(
        "health.live-unmonitored",
        "Running container has no health status",
        L, Area.HEALTH, "LC",
        """The container runs without a health check, so nothing notices when it stops
        working while its process stays alive.""",
        refs={"docker-bench": "5.27"},
        remedy="Add a health check to the source (Dockerfile or compose) and recreate the container.",
    ),
    _r(
        "restart.policy",
        "Restart policy unbounded",
        L, Area.HEALTH, "CO,LC",
        """restart: always and on-failure without a limit (or with more than 5 retries) keep
        restarting a crashing container forever, which hides a crash loop (or an attack that
        crashes it) and turns it into a denial of service; always also brings back a container
        an operator stopped, once the daemon restarts. unless-stopped keeps the operator's stop
        and is not reported, nor is on-failure with up to 5 retries (docker-bench 5.15, KICS).
        The same in compose files and on running containers.""",
        refs={"kics": "2fc99041", "docker-bench": "5.15"},
        remedy="Use on-failure:5 (or unless-stopped, if the service must survive reboots).",
    ),
    # ---------------------------------------------------------------- images & packages
    _r(
        "image.latest",
        "Image uses the latest tag",
        M, Area.IMAGES, "DF,CO,LC",
        """:latest changes under you: builds stop being reproducible and a compromised or broken
        upstream release is picked up without review.""",
        refs={"hadolint": "DL3007", "checkov": "CKV_DOCKER_7", "trivy": "DS-0001", "kics": "f45ea400",
              "dockle": "DKL-DI-0006"},
        remedy="Pin a version tag, ideally with its digest (name:tag@sha256:...).",
    ),
    _r(
        "image.untagged",
        "Image without a tag",
        M, Area.IMAGES, "DF,CO",
        """An image without a tag means :latest, with the same reproducibility and supply-chain
        problems.""",
        refs={"hadolint": "DL3006", "checkov": "CKV_DOCKER_7", "trivy": "DS-0001", "kics": "9efb0b2d",
              "compose-lint": "CL-0004"},
        remedy="Pin a version tag, ideally with its digest.",
    ),
    _r(
        "image.not-digest-pinned",
        "Image not pinned by digest",
        L, Area.IMAGES, "DF,CO",
        """Tags are mutable: the same tag can point at a different image tomorrow. Only a
        digest guarantees you run what was reviewed.""",
        refs={"compose-lint": "CL-0019", "semgrep": "dockerfile-source-not-pinned"},
        remedy="Append @sha256:<digest> (from docker image inspect's RepoDigests).",
    ),
    _r(
        "image.not-minimal",
        "Full OS base image",
        I, Area.IMAGES, "DF,CO",
        """A full distribution image carries shells, package managers and hundreds of packages
        the service never uses: more CVEs to patch, more tools for an attacker. A slim, alpine or
        distroless variant of the same image exists.""",
        remedy="Switch the runtime stage to the -slim, -alpine or distroless variant.",
    ),
    _r(
        "image.untrusted-registry",
        "Image from a registry outside the allow-list",
        M, Area.SUPPLY_CHAIN, "DF,CO",
        """The project lists the registries it trusts (trusted-registries in the config) and
        this image comes from another one: code from a source nobody vetted runs in the build
        or in production. The rule runs only when the config lists registries.""",
        refs={"hadolint": "DL3026", "docker-bench": "4.2"},
        remedy="""Pull the image from a trusted registry (mirror it there), or add its registry
        to trusted-registries after review.""",
    ),
    _r(
        "image.platform-flag",
        "FROM --platform set to a constant or to the default",
        I, Area.IMAGES, "DF",
        """FROM --platform=linux/amd64 builds that stage for one architecture whatever the build
        asks for (an emulated, slower image on other hosts); --platform=$TARGETPLATFORM is the
        default and only adds noise. $BUILDPLATFORM (cross-compiling) is fine.""",
        refs={"hadolint": "DL3029/DL3065", "kics": "b16e8501", "semgrep": "avoid-platform-with-from",
              "buildkit": "FromPlatformFlagConstDisallowed, RedundantTargetPlatform"},
        remedy="""Drop the flag and choose the platform at build time (docker build
        --platform), or use $BUILDPLATFORM for a build stage that cross-compiles.""",
    ),
    _r(
        "pkg.apt-no-recommends",
        "apt-get install without --no-install-recommends",
        L, Area.IMAGES, "DF",
        """Recommended packages roughly double what apt installs: more size, more CVEs, nothing
        the build asked for.""",
        refs={"hadolint": "DL3015", "trivy": "DS-0029", "kics": "7384dfb2"},
        fix="df.apt-no-recommends",
        remedy="Add --no-install-recommends.",
    ),
    _r(
        "pkg.apt-lists-cleanup",
        "apt lists left in the layer",
        L, Area.IMAGES, "DF",
        """/var/lib/apt/lists stays in the layer (tens of MB) unless removed in the same RUN, and
        stale lists invite installs from an outdated index.""",
        refs={"hadolint": "DL3009", "kics": "df746b39", "dockle": "DKL-DI-0005"},
        fix="df.apt-lists-cleanup",
        remedy="Append && rm -rf /var/lib/apt/lists/* to the RUN (or use a cache mount).",
    ),
    _r(
        "pkg.apk-no-cache",
        "apk add without --no-cache",
        L, Area.IMAGES, "DF",
        """Without --no-cache apk leaves its index in /var/cache/apk inside the layer.""",
        refs={"hadolint": "DL3019", "trivy": "DS-0025", "kics": "ae9c56a6", "dockle": "DKL-DI-0004"},
        fix="df.apk-no-cache",
        remedy="Use apk add --no-cache.",
    ),
    _r(
        "pkg.pip-no-cache",
        "pip install without --no-cache-dir",
        L, Area.IMAGES, "DF",
        """pip keeps downloaded wheels in ~/.cache/pip, which ends up in the layer.""",
        refs={"hadolint": "DL3042", "kics": "f2f903fb"},
        fix="df.pip-no-cache",
        remedy="Add --no-cache-dir (or set PIP_NO_CACHE_DIR=1, or use a cache mount).",
    ),
    _r(
        "pkg.apt-yes",
        "apt-get install without -y",
        L, Area.IMAGES, "DF",
        """Without -y (or --yes, --assume-yes, -qq) apt-get asks for confirmation; with no
        terminal the answer is no and the install is aborted, or the build hangs waiting.""",
        refs={"hadolint": "DL3014", "trivy": "DS-0021", "kics": "77783205",
              "semgrep": "missing-assume-yes-switch"},
        fix="df.assume-yes",
        remedy="Add -y after install.",
    ),
    _r(
        "pkg.apt-not-apt-get",
        "apt used in a RUN instead of apt-get",
        L, Area.IMAGES, "DF",
        """apt is the interactive front end; its command line is not stable for scripts and it
        warns so on every run. apt-get is the tool meant for builds.""",
        refs={"hadolint": "DL3027", "checkov": "CKV_DOCKER_9", "kics": "b84a0b47", "semgrep": "prefer-apt-get"},
        remedy="Use apt-get (or apt-cache) in RUN instructions.",
    ),
    _r(
        "pkg.yum-yes",
        "yum install without -y",
        L, Area.IMAGES, "DF",
        """Without -y (--assumeyes) yum asks for confirmation; with no terminal the install is
        aborted.""",
        refs={"hadolint": "DL3030", "kics": "6e19193a", "semgrep": "missing-yum-assume-yes-switch"},
        fix="df.assume-yes",
        remedy="Add -y after install.",
    ),
    _r(
        "pkg.dnf-yes",
        "dnf install without -y",
        L, Area.IMAGES, "DF",
        """Without -y (--assumeyes) dnf asks for confirmation; with no terminal the install is
        aborted.""",
        refs={"hadolint": "DL3038", "kics": "7ebd323c", "semgrep": "missing-dnf-assume-yes-switch"},
        fix="df.assume-yes",
        remedy="Add -y after install.",
    ),
    _r(
        "pkg.zypper-yes",
        "zypper install without -y",
        L, Area.IMAGES, "DF",
        """Without -y (--no-confirm) or the global -n (--non-interactive) zypper asks for
        confirmation; with no terminal the install is aborted.""",
        refs={"hadolint": "DL3034", "kics": "45e1fca5"},
        fix="df.assume-yes",
        remedy="Add -y after install (or -n before it).",
    ),
    _r(
        "pkg.yum-clean",
        "yum install without yum clean all",
        L, Area.IMAGES, "DF",
        """yum keeps its metadata and package cache in /var/cache/yum inside the layer unless the
        same RUN cleans it.""",
        refs={"hadolint": "DL3032", "trivy": "DS-0015", "kics": "00481784"},
        fix="df.pkg-clean",
        remedy="Append && yum clean all to the RUN (or use a cache mount).",
    ),
    _r(
        "pkg.dnf-clean",
        "dnf install without dnf clean all",
        L, Area.IMAGES, "DF",
        """dnf keeps its metadata and package cache in /var/cache/dnf inside the layer unless the
        same RUN cleans it.""",
        refs={"hadolint": "DL3040", "trivy": "DS-0019", "kics": "295acb63", "semgrep": "missing-dnf-clean-all"},
        fix="df.pkg-clean",
        remedy="Append && dnf clean all to the RUN (or use a cache mount).",
    ),
    _r(
        "pkg.microdnf-clean",
        "microdnf install without microdnf clean all",
        L, Area.IMAGES, "DF",
        """microdnf keeps its metadata and package cache inside the layer unless the same RUN
        cleans it.""",
        refs={"hadolint": "DL3040", "trivy": "DS-0027"},
        fix="df.pkg-clean",
        remedy="Append && microdnf clean all to the RUN.",
    ),
    _r(
        "pkg.zypper-clean",
        "zypper install without zypper clean",
        L, Area.IMAGES, "DF",
        """zypper keeps downloaded packages and repository metadata in /var/cache/zypp inside the
        layer unless the same RUN cleans it.""",
        refs={"hadolint": "DL3036", "trivy": "DS-0020", "kics": "38300d1a", "semgrep": "missing-zypper-clean"},
        fix="df.pkg-clean",
        remedy="Append && zypper clean --all to the RUN.",
    ),
    _r(
        "pkg.yarn-clean",
        "yarn install without yarn cache clean",
        L, Area.IMAGES, "DF",
        """yarn keeps every downloaded package in its global cache, which ends up in the layer
        beside node_modules.""",
        refs={"hadolint": "DL3060"},
        fix="df.pkg-clean",
        remedy="Append && yarn cache clean to the RUN (or use a cache mount).",
    ),
    _r(
        "pkg.update-alone",
        "Package index updated in a RUN of its own",
        L, Area.IMAGES, "DF",
        """RUN apt-get update (or apk update) alone is cached as its own layer: a later install in
        another RUN reuses the stale index from the cache and installs old versions, or fails
        when the mirror has moved on.""",
        refs={"checkov": "CKV_DOCKER_5", "trivy": "DS-0017", "kics": "9bae49be", "docker-bench": "4.7",
              "dockle": "CIS-DI-0007"},
        remedy="Update and install in the same RUN: apt-get update && apt-get install -y ...",
    ),
    _r(
        "pkg.dist-upgrade",
        "Distribution upgrade in a RUN",
        I, Area.IMAGES, "DF",
        """apt-get dist-upgrade (or full-upgrade, zypper dist-upgrade) may replace the base
        image's release with packages it was not built with. Upgrading packages is patching, but
        a whole-distribution upgrade belongs in a newer base image.""",
        refs={"hadolint": "DL3035", "trivy": "DS-0024", "dockle": "DKL-DI-0003"},
        remedy="Use a newer base image tag instead, or a plain upgrade of the packages that need it.",
    ),
    _r(
        "pkg.pin-apt",
        "apt-get install without versions",
        L, Area.SUPPLY_CHAIN, "DF",
        """Without =version apt installs whatever the mirror has today, so two builds of the same
        Dockerfile differ. Off by default: Debian mirrors drop old versions within weeks, so
        pinned builds break (hadolint#884, hadolint PR #1253 turns DL3008 off by default);
        a pinned, digest-addressed base image plus regular rebuilds is the usual answer. Turn it
        on with select = ["*", "pkg.pin-apt"].""",
        refs={"hadolint": "DL3008", "kics": "965a08d7"},
        remedy="""Pin name=version (the version the image has today: dpkg-query -W name). With
        `scan --live`, when the service's built image or the stage's base image is on the engine,
        the finding names the version its /var/lib/dpkg/status holds and the pin to write.""",
        default_off=True,
    ),
    _r(
        "pkg.pin-apk",
        "apk add without versions",
        L, Area.SUPPLY_CHAIN, "DF",
        """Without =version (or ~version) apk installs whatever the repository has today: two
        builds of the same Dockerfile differ, and a compromised or broken release is picked up
        unreviewed.""",
        refs={"hadolint": "DL3018", "kics": "d3499f6d"},
        remedy="""Pin name=version or name~major.minor (the version the image has: apk info -v).
        With `scan --live`, when the service's built image or the stage's base image is on the
        engine, the finding names the version its /lib/apk/db/installed holds and the pin to write.""",
    ),
    _r(
        "pkg.pin-pip",
        "pip install without versions",
        L, Area.SUPPLY_CHAIN, "DF",
        """pip install name takes the newest release on the index: a new release (or a
        typosquatted or hijacked one) changes the image with no review.""",
        refs={"hadolint": "DL3013", "kics": "02d9c71f"},
        remedy="Pin name==version, or install from a requirements file with pinned versions (-r).",
    ),
    _r(
        "pkg.pin-npm",
        "npm install of a package without a version",
        L, Area.SUPPLY_CHAIN, "DF",
        """npm install name takes the newest release: a new (or hijacked) release changes the
        image with no review. A bare npm install or npm ci follows the lockfile and is fine.""",
        refs={"hadolint": "DL3016", "kics": "e36d8880"},
        remedy="Pin name@version, or install from package.json with a lockfile (npm ci).",
    ),
    _r(
        "pkg.pin-gem",
        "gem install without a version",
        L, Area.SUPPLY_CHAIN, "DF",
        """gem install name takes the newest release: a new (or hijacked) release changes the
        image with no review.""",
        refs={"hadolint": "DL3028", "kics": "22cd11f7"},
        remedy="Pin the version (gem install name -v version, or name:version).",
    ),
    _r(
        "pkg.pin-go",
        "go install without a version",
        L, Area.SUPPLY_CHAIN, "DF",
        """go install path@latest (or a branch) builds whatever the default branch holds today.""",
        refs={"hadolint": "DL3062"},
        remedy="Pin a module version: go install path@v1.2.3.",
    ),
    _r(
        "pkg.pin-rpm",
        "yum/dnf/zypper install without versions",
        L, Area.SUPPLY_CHAIN, "DF",
        """Without a version yum, dnf and zypper install whatever the repository has today, so
        two builds of the same Dockerfile differ.""",
        refs={"hadolint": "DL3033/DL3041/DL3037", "kics": "6452c424/93d88cf7/562952e4"},
        remedy="Pin name-version (yum, dnf) or name=version (zypper).",
    ),
    _r(
        "pkg.unverified",
        "Package signature checks disabled",
        H, Area.SUPPLY_CHAIN, "DF",
        """Flags like --allow-untrusted, --allow-unauthenticated, --force-yes or --nogpgcheck
        install packages whose origin nobody verified: a tampered mirror goes unnoticed.""",
        refs={"checkov": "CKV2_DOCKER_7/8/9/10/11", "docker-bench": "4.11"},
        fix="df.remove-flag",
        remedy="Remove the flag and import the repository's signing key instead.",
    ),
    _r(
        "tls.disabled",
        "TLS verification disabled",
        H, Area.SUPPLY_CHAIN, "DF",
        """curl -k, wget --no-check-certificate, pip --trusted-host and friends download code over
        connections anyone on the path can tamper with.""",
        refs={"checkov": "CKV2_DOCKER_2/3/4/5/6/12/13/14/15/16"},
        fix="df.remove-flag",
        remedy="Remove the flag or variable; install the CA certificate the build needs instead.",
    ),
    _r(
        "shell.pipefail",
        "Pipe in RUN without pipefail",
        L, Area.SUPPLY_CHAIN, "DF",
        """A RUN's pipeline succeeds when its last command does, whatever happened before it. Piped
        into a shell (curl ... | sh) this is high severity: a failed or truncated download still
        runs, as an empty or partial script, and the build carries on with half an install.
        Other pipes hide a failing first command (low).""",
        refs={"hadolint": "DL4006", "kics": "efbf148a", "semgrep": "set-pipefail"},
        remedy="""Set SHELL ["/bin/bash", "-o", "pipefail", "-c"] before the RUN (or set -o pipefail
        at its start where the shell supports it); better still, download to a file, verify its
        checksum, then run it.""",
    ),
    _r(
        "add.use-copy",
        "ADD used for local files",
        L, Area.IMAGES, "DF",
        """ADD silently extracts archives and fetches URLs; for plain local files COPY does the
        same with no surprises.""",
        refs={"hadolint": "DL3020", "checkov": "CKV_DOCKER_4", "trivy": "DS-0005", "kics": "9513a694",
              "docker-bench": "4.9"},
        fix="df.add-to-copy",
        remedy="Replace ADD with COPY.",
    ),
    _r(
        "add.remote-url",
        "ADD of a remote URL without checksum",
        M, Area.SUPPLY_CHAIN, "DF",
        """ADD <url> downloads whatever the server returns at build time, unverified.""",
        # checkov CKV_DOCKER_4 prefers COPY to ADD; skipping it accepts ADD, not an unverified download
        refs={"checkov": "~CKV_DOCKER_4", "kics": "4b410d24"},
        remedy="Use ADD --checksum=sha256:<digest> <url>, or curl plus sha256sum -c.",
    ),
    _r(
        "cmd.json-form",
        "CMD/ENTRYPOINT in shell form",
        L, Area.HEALTH, "DF",
        """Shell form runs the command under /bin/sh -c, which becomes PID 1 and does not forward
        SIGTERM: the service is killed after the stop timeout instead of shutting down cleanly.""",
        refs={"hadolint": "DL3025", "kics": "b86987e1", "buildkit": "JSONArgsRecommended"},
        fix="df.cmd-json",
        remedy='Use the exec form: CMD ["prog", "arg"].',
    ),
    # ---------------------------------------------------------------- logging
    _r(
        "logging.disabled",
        "Logging disabled",
        L, Area.LOGGING, "CO,LC",
        """logging driver none throws away the container's output: no audit trail and nothing to
        investigate after an incident.""",
        refs={"compose-lint": "CL-0014"},
        fix="co.logging-default",
        remedy="Remove driver: none (or use a driver that ships logs).",
    ),
    _r(
        "logging.unbounded",
        "Logs not rotated",
        L, Area.LOGGING, "CO,LC",
        """The json-file driver keeps logs forever by default; a chatty or attacked service fills
        the host's disk.""",
        fix="co.log-rotation",
        remedy="Set logging.options max-size and max-file.",
    ),
    # ---------------------------------------------------------------- supply chain (project)
    _r(
        "supply.no-vuln-scan",
        "No image vulnerability scan in CI",
        I, Area.SUPPLY_CHAIN, "PR",
        """No CI pipeline scans the built images (trivy, grype, docker scout), so known CVEs in
        base images and packages ship unnoticed.""",
        remedy="Add an image scan step (trivy image, grype, docker scout cves) to CI.",
    ),
    _r(
        "supply.no-sbom",
        "No SBOM generated",
        I, Area.SUPPLY_CHAIN, "PR",
        """Without a software bill of materials nobody can answer 'are we affected?' when the next
        library CVE lands.""",
        remedy="Build with --sbom=true or run syft in CI.",
    ),
    _r(
        "supply.no-provenance",
        "No build provenance",
        I, Area.SUPPLY_CHAIN, "PR",
        """Provenance attestations record how and from what an image was built, so a consumer can
        check it came from your pipeline.""",
        remedy="Build with --provenance=mode=max (docker buildx / build-push-action).",
    ),
    _r(
        "supply.no-signing",
        "Images not signed",
        I, Area.SUPPLY_CHAIN, "PR",
        """Unsigned images cannot be verified at deploy time; anyone able to push to the registry
        can replace them.""",
        remedy="Sign images in CI (cosign sign) and verify signatures at deploy time.",
    ),
    # ---------------------------------------------------------------- engine only (IM, LC)
    _r(
        "user.empty-password",
        "Account without a password in the image",
        H, Area.USER, "IM",
        """An account in the image's /etc/shadow (or /etc/passwd) has an empty password field: su,
        login or an SSH server in the container accept it with no password at all.""",
        refs={"dockle": "DKL-LI-0001"},
        remedy="""Lock the account in the Dockerfile (passwd -l NAME, or usermod -p '*' NAME) and
        rebuild the image.""",
    ),
    _r(
        "user.duplicate-id",
        "Duplicate UID or GID in the image",
        M, Area.USER, "IM",
        """Two names share one UID in /etc/passwd (or one GID in /etc/group): files, processes
        and permission checks cannot tell them apart, and a second UID 0 is a hidden root.""",
        refs={"dockle": "DKL-LI-0002"},
        remedy="Give each account and group its own id in the Dockerfile and rebuild the image.",
    ),
    _r(
        "fs.setuid-binaries",
        "setuid/setgid files in the image",
        L, Area.FILESYSTEM, "IM",
        """Files with the setuid or setgid bit run with their owner's (usually root's) privileges
        whoever starts them: each is a way up for a process that gets code execution in the
        container. Distribution account tools (su, passwd, mount...) are expected and not
        reported; anything else is.""",
        refs={"docker-bench": "4.8", "dockle": "CIS-DI-0008"},
        remedy="""Strip the bits in the final stage (RUN find / -xdev -perm /6000 -type f -exec
        chmod a-s {} +) or remove the programs, and run with no-new-privileges.""",
    ),
    _r(
        "image.junk-files",
        "Build leftovers in the image",
        L, Area.SECRETS, "IM",
        """The image holds files that belong to a developer's machine or a build context, not to
        the service: private keys, .git directories, credentials files (.aws/credentials,
        .docker/config.json, .netrc, .npmrc, .git-credentials, .env). Anyone who can pull the
        image can read them.""",
        refs={"dockle": "DKL-LI-0003"},
        remedy="""Exclude them from the build context (.dockerignore), copy only what the service
        needs, revoke any credential that was baked in, and rebuild.""",
    ),
    _r(
        "devices.host",
        "Host devices passed through",
        M, Area.CAPABILITIES, "CO,LC",
        """The container has direct access to host device nodes (HostConfig.Devices). Raw disks,
        /dev/mem or /dev/kmsg give a way around the kernel's protections; any device widens the
        attack surface.""",
        refs={"docker-bench": "5.18", "compose-lint": "CL-0016"},
        remedy="""Remove the device, or grant it read-only (:r) when the service only reads it.""",
    ),
    _r(
        "mount.propagation-shared",
        "Mount with shared propagation",
        M, Area.FILESYSTEM, "CO,LC",
        """A bind mount with shared or slave propagation lets mounts made on one side appear on
        the other: a container can mount over host paths, or see host mounts appear inside.""",
        refs={"kics": "baa452f0", "docker-bench": "5.20", "compose-lint": "CL-0017"},
        remedy="Remove the propagation option (the default, rprivate, shares nothing).",
    ),
    _r(
        "cgroup.parent",
        "Custom cgroup parent",
        L, Area.RESOURCES, "CO,LC",
        """The container sits under a cgroup of the operator's choosing instead of Docker's own,
        outside the limits and accounting the engine applies to its containers.""",
        refs={"kics": "4d9f44c6", "docker-bench": "5.25"},
        remedy="Remove cgroup_parent unless the host's cgroup layout requires it.",
    ),
    _r(
        "limits.ulimits",
        "Default ulimits not overridden",
        I, Area.RESOURCES, "CO,LC",
        """The container inherits the engine's default ulimits (open files, processes): a
        process that leaks descriptors or forks exhausts the host's defaults, not its own.""",
        refs={"docker-bench": "5.19"},
        remedy="Set ulimits (for example nofile) in the compose service or the run command.",
    ),
    _r(
        "ns.shared-with-container",
        "Namespace shared with another container",
        L, Area.CAPABILITIES, "CO,LC",
        """The container joins another container's network, PID or IPC namespace
        (container:NAME / service:NAME): it sees that container's processes, sockets or shared
        memory, and a compromise of one reaches the other.""",
        remedy="Keep it only when the two are meant to be one unit (a sidecar); otherwise remove it.",
    ),
    _r(
        "network.default-bridge",
        "Container on the default bridge",
        L, Area.NETWORK, "CO,LC",
        """The default bridge network (docker0) connects every container started without a
        network: they can all reach each other, with no name resolution to scope who talks to
        whom.""",
        refs={"docker-bench": "5.30"},
        remedy="Attach the service to a project network (compose does by default) or to none.",
    ),
    _r(
        "ports.duplicate-host",
        "Two services publish the same host port",
        L, Area.NETWORK, "CO",
        """Two services of one project publish the same host port and address: the second
        cannot start (port already allocated), or, with different addresses, traffic meant for
        one reaches the other.""",
        refs={"dclint": "no-duplicate-exported-ports"},
        remedy="Give each service its own host port, or put them behind one reverse proxy.",
    ),
    _r(
        "volume.shared-between-services",
        "Volume shared between services with write access",
        I, Area.FILESYSTEM, "CO",
        """Several services mount the same named volume or host directory and at least one can
        write to it: a compromise of that service can plant files the others read or execute.""",
        refs={"kics": "8c978947"},
        remedy="Give each service its own volume, or mount it read-only where a service only reads.",
    ),
    _r(
        "ports.only-needed",
        "Published port the image does not declare",
        I, Area.NETWORK, "LC",
        """A port is published that the image does not EXPOSE and no process is seen listening
        for: every open port is attack surface, and one nobody needs is pure risk.""",
        refs={"docker-bench": "5.9"},
        remedy="Publish only the ports the service serves.",
    ),
    # ---------------------------------------------------------------- drift & input
    _r(
        "live.drift",
        "Running container differs from its compose file",
        M, Area.INPUT, "LC",
        """What runs is not what the repository says: either the container predates hardening in
        the file (recreate it) or it runs with settings the file lacks (port them back).""",
        remedy="Recreate the container from the file, or bring the file up to what runs.",
    ),
    _r(
        "parse.error",
        "File could not be parsed",
        H, Area.INPUT, "DF,CO",
        """batten could not read this file, so none of its rules ran on it; Docker will likely
        reject it too.""",
        remedy="Fix the syntax error at the reported location.",
    ),
    _r(
        "compose.invalid",
        "Compose file does not match the Compose Specification",
        M, Area.INPUT, "CO",
        """A key the Compose Specification does not know (often a misspelling: read-only for
        read_only) or a value of the wrong type or form. docker compose refuses the file, and a
        hardening setting written under a wrong name was never in force. Checked against the
        specification's JSON schema, which batten carries.""",
        remedy="Use the key and value form the message names (the specification's own spelling).",
    ),
    _r(
        "compose.include-unread",
        "Included compose file not read",
        I, Area.INPUT, "CO",
        """The file's include: names a remote file (a URL, an OCI artifact, a git repository) or a
        path outside the project. docker compose reads it, batten does not: it never fetches
        anything and never reads outside the project, so the services that file brings are not
        checked here. A notice, not a fault: the include is legitimate.""",
        remedy="Scan the included file where it lives (its own repository or directory), or vendor "
               "it into the project.",
    ),
]

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule id {rule_id!r}") from None


def all_rules() -> list[Rule]:
    return list(_RULES)


# rules about a control that is absent, with the control's name: text output lists them on one
# line per service or stage ("missing: cap_drop: [ALL], read_only, ..."), --verbose one per line
ABSENT_CONTROLS: dict[str, str] = {
    "compose.user-unset": "user:",
    "caps.not-dropped": "cap_drop: [ALL]",
    "priv.no-new-privileges": "no-new-privileges",
    "fs.rootfs-writable": "read_only",
    "limits.memory": "memory limit",
    "limits.cpu": "CPU limit",
    "limits.pids": "PID limit",
    "limits.reservations": "reservations",
    "limits.ulimits": "ulimits",
    "health.missing-compose": "healthcheck",
    "logging.unbounded": "log rotation",
    "user.missing": "USER",
    "health.missing-dockerfile": "HEALTHCHECK",
}

DEFAULT_OFF: frozenset[str] = frozenset(r.id for r in _RULES if r.default_off)
"""Rules that run only when the config's `select` names them (docs/rules.md says which)."""


TOOL_PRAGMA_INDEX: dict[str, dict[str, list[str]]] = {}
"""tool -> foreign id (upper-case) -> batten rule ids it maps onto."""


def _build_pragma_index() -> None:
    for r in _RULES:
        for tool, ids in r.pragmas.items():
            for fid in ids:
                TOOL_PRAGMA_INDEX.setdefault(tool, {}).setdefault(fid.upper(), []).append(r.id)


_build_pragma_index()
