"""Shared knowledge for the rules: secret names and values, images, users, capabilities,
and the walk over the shell commands of a RUN instruction."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from batten.checks.catalogue import rule
from batten.model import Finding, Location, Severity, Site, Span
from batten.sources.dockerfile import ImageRef, Instruction, Stage, declared_env
from batten.sources.shell import Command, Word, split_commands


def make(
    rule_id: str,
    message: str,
    location: Location | None,
    *,
    target: str | None = None,
    target_kind: str = "file",
    anchors: tuple[int, ...] = (),
    secrets: tuple[Span, ...] = (),
    evidence: dict | None = None,
    subject: Site | None = None,
    scope: object = None,
    severity: Severity | None = None,
    origin: str = "static",
) -> Finding:
    """A finding of `rule_id`; `severity` when this instance is worse (or milder) than the rule's
    default (the config's severity for the rule, when it sets one, still wins); `origin` "live"
    for what an engine runs."""
    return Finding(
        rule=rule(rule_id),
        message=message,
        location=location,
        target=target,
        target_kind=target_kind,
        severity=severity,
        anchors=anchors,
        secrets=secrets,
        evidence=evidence or {},
        subject=subject,
        scope=scope,
        origin=origin,
    )


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------

# BuildKit's SecretsUsedInArgOrEnv tokens, plus a few common spellings
_SECRET_TOKENS = (
    "apikey|api_key|auth|credential|credentials|key|password|passwd|pword|pwd|pass|secret|"
    "secrets|token|privatekey|private_key|access_key|secret_key|client_secret|passphrase|"
    "jwt|bearer|signature|sig|dsn|cert_key|session_key|encryption_key|salt"
)
_SECRET_NAME = re.compile(rf"(?i)(?:^|_|-|\.)(?:{_SECRET_TOKENS})(?:$|_|-|\.)")
_SECRET_GLUED = re.compile(r"(?i)(password|passwd|secret|token|apikey|privatekey)$|^(password|secret|token)")
# names that merely talk about a secret, or hold public material
_NOT_SECRET_WORDS_TEXT = (
    "public|file|files|path|dir|directory|url_path|version|length|len|min|max|"
    "enabled|enable|disabled|disable|required|policy|method|type|mode|algorithm|algo|expiry|expires|"
    "expiration|ttl|timeout|rounds|cost|host|port|name|user|username|id_file|fingerprint|"
    "keyring|keyserver|keys|server|endpoint|header|prefix|field|location|hint|reset|store|backend|"
    "provider|format|size|bits|cache|count|interval|lifetime|duration|cookie_name|param|var|url|uri|"
    "issuer|audience|realm|scope|scopes|aud|iss|role|roles"
)
_NOT_SECRET = re.compile(rf"(?i)(?:^|_|-)(?:{_NOT_SECRET_WORDS_TEXT})(?:$|_|-)")
_GPG = re.compile(r"(?i)(?:^|_)(?:gpg|pgp|gnupg)(?:_|$)")


_TOKEN_SPLIT = re.compile(r"[_.-]+")
_SECRET_WORDS = frozenset(_SECRET_TOKENS.split("|"))
_NOT_SECRET_WORDS = frozenset(_NOT_SECRET_WORDS_TEXT.split("|"))


def is_secret_name(name: str) -> bool:
    """A variable name that looks like it holds a credential (TOKEN, DB_PASSWORD, API_KEY...).

    The last word decides between a secret word and a word that only talks about one:
    SMTP_HOST_PASSWORD and DB_USER_PASSWORD are secrets, PASSWORD_FILE, JWT_AUD and
    PASSWORD_MIN_LENGTH are not."""
    if not name:
        return False
    if _GPG.search(name):  # GPG_KEY and friends are public key fingerprints (dockle#130)
        return False
    if not (_SECRET_NAME.search(name) or _SECRET_GLUED.search(name)):
        return False
    words = [w.lower() for w in _TOKEN_SPLIT.split(name) if w]
    last_secret = max((i for i, w in enumerate(words) if w in _SECRET_WORDS or _SECRET_GLUED.search(w)), default=-1)
    last_plain = max((i for i, w in enumerate(words) if w in _NOT_SECRET_WORDS), default=-1)
    if last_secret == -1:  # glued across separators (MYPASSWORD_X...): the old rule
        return not _NOT_SECRET.search(name)
    return last_secret > last_plain


_BOOLISH = {"", "yes", "no", "true", "false", "on", "off", "0", "1", "y", "n", "none", "null", "trust", "md5",
            "scram-sha-256", "required", "optional", "disabled", "enabled", "random"}
# values that name a mode, a role or a mechanism, not a credential (GOTRUE_JWT_AUD: authenticated,
# REGISTRY_AUTH: htpasswd, OPENAI_API_KEY: user_provided)
_MODE_WORDS = {"authenticated", "anonymous", "anon", "htpasswd", "user_provided", "user-provided", "provided",
               "basic", "digest", "bearer", "oauth", "oauth2", "oidc", "ldap", "saml", "local", "plain", "native",
               "internal", "external", "env", "file", "vault", "kms", "token", "password", "service_role",
               "sha256", "sha512", "bcrypt", "argon2", "argon2id", "pbkdf2", "hs256", "rs256", "es256", "auto"}
# `${VAR:-default}` / `${VAR-default}`: the default is written in the file
_DEFAULTED = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?-(?P<default>[^}]*)\}$")
_URL = re.compile(r"(?i)^[a-z][a-z0-9+.-]{1,20}://")

# well-known token formats (high confidence, any key)
TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("GitHub token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("Stripe key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("OpenAI key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY")),
    ("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
)
# scheme://user:password@host (password not a ${VAR} reference)
CONN_STRING = re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,20}://([^\s:/@'\"]+):([^\s@/'\"]+)@[^\s'\"]+")


def literal_secret_value(value: str | None) -> bool:
    """True if `value` is a literal credential (not empty, not a placeholder, not a mode word, not
    a reference). A reference with a literal default (`${DB_PASSWORD:-s3cret}`) is a literal: the
    default is in the file. A URL is a credential only when it carries a password
    (`smtp://127.0.0.1` is not, `postgres://app:pw@db` is)."""
    if value is None:
        return False
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1].strip()
    m = _DEFAULTED.match(v)
    if m is not None:
        v = m.group("default").strip()
    if v.lower() in _BOOLISH or v.lower() in _MODE_WORDS:
        return False
    if "$" in v:  # any variable reference: the value comes from elsewhere
        return False
    if _URL.match(v):
        return token_in(v) is not None
    if v.startswith("/") and " " not in v:  # a path (…_FILE conventions, key files)
        return False
    return not (v.startswith("<") and v.endswith(">"))


def token_in(text: str) -> tuple[str, Span] | None:
    """A well-known credential format or a connection string with a password in `text`."""
    for label, pat in TOKEN_PATTERNS:
        m = pat.search(text)
        if m:
            return label, Span(m.start(), m.end())
    for m in CONN_STRING.finditer(_blank_references(text)):
        pw = text[m.start(2):m.end(2)]
        if pw.strip("*") and not pw.startswith("$"):
            return "connection string with a password", Span(m.start(2), m.end(2))
        d = _DEFAULTED.match(pw)
        if d is not None and d.group("default") and "$" not in d.group("default"):  # ${P:-literal}
            return "connection string with a password", Span(m.start(2), m.end(2))
    return None


def _blank_references(text: str) -> str:
    """`text` with the inside of each `${...}` reference blanked (same length), so a `:` or `@`
    in an interpolation (`${U:-x}`) is not read as the userinfo's separator."""
    return re.sub(r"\$\{[^}]*\}", lambda m: "$" + "V" * (len(m.group()) - 1), text)


# ---------------------------------------------------------------------------------------------
# users
# ---------------------------------------------------------------------------------------------

# the options that take a value, per account command: (short letters, long names); shadow's
# useradd/groupadd, Debian's adduser/addgroup (long options only) and busybox's (short only)
_DEBIAN_ADDUSER_LONG = frozenset({"--home", "--shell", "--uid", "--firstuid", "--lastuid", "--gid", "--ingroup",
                                  "--gecos", "--comment", "--conf", "--firstgid", "--lastgid"})
ACCOUNT_VALUE_OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "useradd": (frozenset("bcdefgGkKpRPsuZ"), frozenset({
        "--base-dir", "--comment", "--home-dir", "--home", "--expiredate", "--inactive", "--gid", "--groups",
        "--skel", "--key", "--password", "--root", "--prefix", "--shell", "--uid", "--selinux-user",
        "--selinux-range"})),
    "groupadd": (frozenset("gKpRPU"), frozenset({"--gid", "--key", "--password", "--root", "--prefix", "--users"})),
    "adduser-debian": (frozenset(), _DEBIAN_ADDUSER_LONG),
    "addgroup-debian": (frozenset(), _DEBIAN_ADDUSER_LONG),
    "adduser-busybox": (frozenset("hgsGuk"), frozenset()),
    "addgroup-busybox": (frozenset("g"), frozenset()),
}  # fmt: skip
# any of them: for reading a command whose flavour is unknown
ACCOUNT_VALUE_OPTIONS["any"] = (
    frozenset().union(*(short for short, _long in ACCOUNT_VALUE_OPTIONS.values())),
    frozenset().union(*(long for _short, long in ACCOUNT_VALUE_OPTIONS.values())),
)


def account_options(words: list[Word], flavour: str) -> tuple[dict[str, str | None], list[str], bool, bool]:
    """(option -> value, operands, uses long options, uses short options) of a useradd, adduser,
    groupadd or addgroup command; `flavour` is a key of ACCOUNT_VALUE_OPTIONS."""
    short_arg, long_arg = ACCOUNT_VALUE_OPTIONS[flavour]
    opts: dict[str, str | None] = {}
    pos: list[str] = []
    long_used = short_used = False
    k = 0
    n = len(words)
    while k < n:
        t = words[k].text
        if t == "--":
            pos.extend(w.text for w in words[k + 1 :])
            break
        if t.startswith("--"):
            long_used = True
            name, eq, val = t.partition("=")
            if eq:
                opts[name] = val
            elif name in long_arg and k + 1 < n:
                opts[name] = words[k + 1].text
                k += 1
            else:
                opts[name] = None
        elif t.startswith("-") and len(t) > 1:
            short_used = True
            j = 1
            while j < len(t):
                c = t[j]
                if c in short_arg:
                    if j + 1 < len(t):
                        opts["-" + c] = t[j + 1 :]
                    elif k + 1 < n:
                        opts["-" + c] = words[k + 1].text
                        k += 1
                    else:
                        opts["-" + c] = None
                    break
                opts["-" + c] = None
                j += 1
        else:
            pos.append(t)
        k += 1
    return opts, pos, long_used, short_used



def is_root_user(user: str) -> bool:
    """root, 0, root:anything, 0:anything (and ContainerAdministrator on Windows)."""
    u = user.strip().strip('"').strip("'")
    name = u.split(":", 1)[0].strip()
    return name in ("root", "0") or name.lower() == "containeradministrator"


# images whose default user is not root (so a missing USER is fine)
_NONROOT_IMAGES = re.compile(
    r"(?ix)^(?:"
    r"gcr\.io/distroless/.+:(?:.*-)?nonroot(?:-.*)?"
    r"|cgr\.dev/chainguard/.+"
    r"|.+:.*rootless.*"
    r"|(?:docker\.io/)?nginxinc/nginx-unprivileged(?::.*)?"
    r"|(?:docker\.io/)?bitnami/.+"
    r"|(?:docker\.io/)?(?:grafana/grafana(?:-oss|-enterprise)?|prom/.+|quay\.io/prometheus/.+)(?::.*)?"
    r"|(?:docker\.io/)?(?:library/)?(?:jenkins/jenkins|sonarqube|elasticsearch|kibana|logstash|docker\.elastic\.co/.+)(?::.*)?"
    r"|mcr\.microsoft\.com/mssql/server:(?:20(?:19|22|25)).*"
    r"|mcr\.microsoft\.com/azure-sql-edge(?::.*)?"
    r"|mcr\.microsoft\.com/(?:windows/)?nanoserver(?:-insider)?(?::.*)?"
    r"|(?:docker\.io/)?(?:minio/minio|hashicorp/vault|mailhog/mailhog|portainer/agent)(?::.*)?"
    # images whose Dockerfile ends with a non-root USER (checked against their published config)
    r"|(?:docker\.io/)?(?:library/)?(?:memcached|solr|haproxy|kong|jetty|groovy|odoo|rocket\.chat)(?::.*)?"
    r"|(?:docker\.io/)?(?:n8nio/n8n|gotenberg/gotenberg|dpage/pgadmin4|louislam/uptime-kuma|jaegertracing/.+"
    r"|grafana/(?:loki|promtail|tempo|mimir)|nextcloud/aio-.+)(?::.*)?"
    r"|(?:docker\.n8n\.io/n8nio/n8n|quay\.io/keycloak/keycloak|ghcr\.io/goauthentik/server)(?::.*)?"
    r"|.+/static-debian\d+:nonroot.*"
    r")$"
)
_WINDOWS = re.compile(
    r"(?i)(mcr\.microsoft\.com/(windows|dotnet/framework)|servercore|nanoserver|windowsservercore"
    r"|^(?:docker\.io/)?microsoft/(?:iis|aspnet|dotnet-framework|mssql-server-windows)"  # pre-mcr Windows images
    r"|[-/]windows(?=[:@-]|$))"  # stefanscherer/node-windows, ...-windows:tag
)
_WINDOWS_SHELLS = {"powershell", "powershell.exe", "cmd", "cmd.exe"}


def image_default_nonroot(image: str | None) -> bool:
    if not image:
        return False
    return bool(_NONROOT_IMAGES.match(image.strip()))


def image_default_root_known(image: str | None) -> bool:
    """True when an image is known to run as root without being inspected: a Docker Official
    Image (they define no USER unless the list above says so). For any other image only its
    config can tell (scan --live reads it)."""
    ref = ImageRef.parse(image or "")
    if ref is None or not ref.is_docker_hub or image_default_nonroot(image):
        return False
    return "/" not in ref.repository or ref.repository.startswith("library/")


# tags that move: a name, not a version (:stable, :edge, :alpine, :stable-alpine...)
_FLOATING_WORDS = frozenset({
    "latest", "stable", "edge", "nightly", "alpine", "slim", "lts", "mainline", "main", "master", "dev", "develop",
    "development", "unstable", "testing", "sid", "rolling", "current", "canary", "beta", "alpha", "next",
    "preview", "insider", "release",
})


def floating_tag(tag: str | None) -> bool:
    """A tag without a version that moves as upstream publishes: made only of words like stable,
    edge, nightly, alpine (`:latest` is reported as image.latest's own case)."""
    if not tag or any(c.isdigit() for c in tag):
        return False
    return all(part in _FLOATING_WORDS for part in tag.lower().split("-"))


# images known to define their own HEALTHCHECK (a compose healthcheck would override it)
IMAGES_WITH_HEALTHCHECK = frozenset({
    "vaultwarden/server", "ghcr.io/open-webui/open-webui", "jellyfin/jellyfin", "pihole/pihole",
    "louislam/uptime-kuma",
})


def image_defines_healthcheck(image: str | None) -> bool | None:
    """Whether an image defines a HEALTHCHECK, as far as it can be known without the engine:
    True for images known to, False for Docker Official Images (their policy is to define
    none), None otherwise (only inspecting the image can tell)."""
    ref = ImageRef.parse(image or "")
    if ref is None:
        return None
    repo = ref.repository.lower()
    full = repo if ref.is_docker_hub else f"{(ref.registry or '').lower()}/{repo}"
    if full in IMAGES_WITH_HEALTHCHECK:
        return True
    if ref.is_docker_hub and (repo.startswith("library/") or "/" not in repo):
        return False
    return None


def is_windows_image(image: str | None) -> bool:
    return bool(image and _WINDOWS.search(image))


def is_windows_stage(stage: Stage) -> bool:
    """A Windows stage: a Windows base image, or a `SHELL ["powershell"|"cmd", ...]` in its chain."""
    if is_windows_image(stage.root_stage().base_resolved):
        return True

    def own(st: Stage, parent: bool | None) -> bool:
        return bool(parent) or any(
            ins.json and ins.json[0].replace("\\", "/").rsplit("/", 1)[-1].lower() in _WINDOWS_SHELLS
            for ins in st.instructions_named("SHELL"))

    return chain_fold(stage, "windows_shell", own)


def artifact_only(stage: Stage) -> bool:
    """A `FROM scratch` stage with no CMD/ENTRYPOINT: an export of files (`--output`), not
    something a container can run."""
    if not stage.root_stage().is_scratch:
        return False
    return not chain_fold(stage, "runs", lambda st, parent: bool(parent) or bool(
        st.instructions_named("CMD") or st.instructions_named("ENTRYPOINT")))


def stage_chain(stage: Stage) -> list[Stage]:
    """The stage and the stages it builds on, nearest first."""
    out = [stage]
    seen = {id(stage)}
    cur = stage.parent
    while cur is not None and id(cur) not in seen:
        out.append(cur)
        seen.add(id(cur))
        cur = cur.parent
    return out


def chain_fold(stage: Stage, key: str, own: Callable[[Stage, Any], Any]) -> Any:
    """A fact of `stage` computed from its own instructions and its parent's fact
    (`own(stage, parent_fact)`, None for the root), memoised on every stage of the chain: each
    stage is folded once, so facts of every stage of a long chain cost linear time."""
    memo = stage.memo
    if key in memo:
        return memo[key]
    path: list[Stage] = []
    cur: Stage | None = stage
    seen: set[int] = set()
    while cur is not None and key not in cur.memo and id(cur) not in seen:
        seen.add(id(cur))
        path.append(cur)
        cur = cur.parent
    acc = cur.memo[key] if cur is not None and key in cur.memo else None
    for st in reversed(path):
        acc = own(st, acc)
        st.memo[key] = acc
    return memo[key]


@dataclass(slots=True)
class EffectiveUser:
    user: str | None  # the USER value in force, None when no USER anywhere in the chain
    instruction: Instruction | None  # the USER instruction that set it
    stage: Stage | None  # the stage holding that instruction
    base_nonroot: bool  # no USER, but the base image runs as non-root
    base: str | None  # the root image reference

    @property
    def is_root(self) -> bool:
        if self.user is None:
            return not self.base_nonroot
        if "$" in self.user:  # USER $APP_UID: defined by the base image, not root by itself
            return False
        return is_root_user(self.user)


def effective_user(stage: Stage) -> EffectiveUser:
    def own(st: Stage, parent: EffectiveUser | None) -> EffectiveUser:
        users = st.instructions_named("USER")
        if users:
            last = users[-1]
            return EffectiveUser(last.args.strip(), last, st, False, None)
        if parent is not None:
            return parent
        base = st.base_resolved
        return EffectiveUser(None, None, None, image_default_nonroot(base), base)

    return chain_fold(stage, "user", own)


def stage_env(stage: Stage) -> dict[str, str | None]:
    """ARG defaults and ENV values of the stage chain (outermost first), as RUN sees them; values are
    expanded with `expand_args` (None: an ARG without default)."""

    def own(st: Stage, parent: dict[str, str | None] | None) -> dict[str, str | None]:
        mine = [ins for ins in st.instructions if ins.keyword in ("ARG", "ENV")]
        if not mine and parent is not None:
            return parent  # shared, never changed: callers get a copy
        return declared_env(mine, parent)

    return dict(chain_fold(stage, "env", own))


def stage_healthcheck(stage: Stage) -> Instruction | None:
    """The HEALTHCHECK in force for a stage (following parents); NONE counts as set."""

    def own(st: Stage, parent: Instruction | None) -> Instruction | None:
        hcs = st.instructions_named("HEALTHCHECK")
        return hcs[-1] if hcs else parent

    return chain_fold(stage, "healthcheck", own)


def runtime_chain(stages: list[Stage]) -> list[Stage]:
    """Runtime stages plus the stages they build on (what ships in the image)."""
    out: list[Stage] = []
    seen: set[int] = set()
    for st in stages:
        cur: Stage | None = st
        while cur is not None and id(cur) not in seen:  # the rest of the chain is already in
            seen.add(id(cur))
            out.append(cur)
            cur = cur.parent
    return out


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------

# full OS images that have slim / alpine / distroless variants (image.not-minimal)
FULL_IMAGES: dict[str, str] = {
    "python": "python:<version>-slim",
    "node": "node:<version>-slim or -alpine",
    "ruby": "ruby:<version>-slim",
    "golang": "gcr.io/distroless/static (copy the binary into it)",
    "rust": "gcr.io/distroless/cc (copy the binary into it)",
    "openjdk": "eclipse-temurin:<version>-jre",
    "eclipse-temurin": "eclipse-temurin:<version>-jre",
    "maven": "eclipse-temurin:<version>-jre (build with maven, run on a JRE)",
    "gradle": "eclipse-temurin:<version>-jre (build with gradle, run on a JRE)",
    "php": "php:<version>-fpm-alpine",
    "perl": "perl:<version>-slim",
    "debian": "debian:<release>-slim",
    "buildpack-deps": "debian:<release>-slim",
    "nginx": "nginx:<version>-alpine",
    "httpd": "httpd:<version>-alpine",
    "redis": "redis:<version>-alpine",
    # postgres: no advice; moving existing data from glibc to musl changes collations (indexes break)
    "mongo": "mongo (no slim variant: keep, but pin it)",
    "elixir": "elixir:<version>-slim",
    "erlang": "erlang:<version>-slim",
    "haskell": "haskell:<version>-slim",
    "swift": "swift:<version>-slim",
    "julia": "julia (no slim variant)",
    "gcc": "a slim runtime image (copy the binary into it)",
    "mcr.microsoft.com/dotnet/sdk": "mcr.microsoft.com/dotnet/aspnet or runtime (the SDK is for building)",
}
_MINIMAL_HINT = re.compile(r"(?i)(slim|alpine|distroless|minimal|busybox|jre|chiseled|nonroot|static|-fpm-alpine|musl)")


def not_minimal_hint(ref: ImageRef) -> str | None:
    if is_windows_image(ref.raw):
        return None  # Windows variants (windowsservercore, nanoserver) have no slim/alpine/distroless twin
    key = ref.repository.removeprefix("library/")
    if ref.registry and ref.registry not in ("docker.io", "index.docker.io"):
        key = f"{ref.registry}/{ref.repository}"
    hint = FULL_IMAGES.get(key)
    if hint is None:
        return None
    if key == "php" and ref.tag and "apache" in ref.tag:
        return None  # mod_php under apache: fpm is another runtime model, not a smaller twin
    if key == "php" and ref.tag and "cli" in ref.tag:
        hint = "php:<version>-cli-alpine"
    if ref.tag and _MINIMAL_HINT.search(ref.tag):
        return None
    if "no slim variant" in hint:
        return None
    return hint


def registry_of(ref: ImageRef) -> str:
    """The registry an image comes from (`docker.io` for Docker Hub), lower-case."""
    return "docker.io" if ref.is_docker_hub else (ref.registry or "").lower()


def untrusted_registry(ref: ImageRef, trusted: tuple[str, ...] | list[str]) -> bool:
    """True when `trusted` (registries, or registry/namespace prefixes) is set and `ref` matches
    none of it: `docker.io` covers Docker Hub, `ghcr.io/acme` covers ghcr.io/acme/*."""
    if not trusted:
        return False
    reg = registry_of(ref)
    repo = ref.repository.lower()
    if reg == "docker.io" and "/" not in repo:
        repo = "library/" + repo
    full = f"{reg}/{repo}"
    for t in trusted:
        t = t.lower().rstrip("/")
        if t in ("index.docker.io", "registry-1.docker.io", "hub.docker.com"):
            t = "docker.io"
        if reg == t or full == t or full.startswith(t + "/"):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------------

# Host devices that reach around the kernel's protections: its memory and I/O ports, and raw
# disks (every file of the host, whatever its permissions). A container given one is critical.
HOST_MEMORY_DEVICES = frozenset({"/dev/mem", "/dev/kmem", "/dev/port"})
RAW_DISK_PREFIXES: tuple[str, ...] = (
    "/dev/sd", "/dev/hd", "/dev/vd", "/dev/xvd", "/dev/nvme", "/dev/mmcblk", "/dev/dm-", "/dev/md",
    "/dev/loop", "/dev/mapper/", "/dev/disk/",
)  # fmt: skip
# the kernel log: kernel addresses and other containers' activity to read, messages to forge
KERNEL_LOG_DEVICE = "/dev/kmsg"


def device_severity(host_path: str) -> tuple[str, Severity | None]:
    """(what the device is, the severity of passing it through; None: the rule's default)."""
    if host_path in HOST_MEMORY_DEVICES:
        return " (host memory or I/O ports)", Severity.CRITICAL
    if host_path.startswith(RAW_DISK_PREFIXES):
        return " (a host disk)", Severity.CRITICAL
    if host_path == KERNEL_LOG_DEVICE:
        return " (the kernel log)", Severity.HIGH
    return "", None


# ---------------------------------------------------------------------------------------------
# capabilities
# ---------------------------------------------------------------------------------------------

DEFAULT_CAPS = frozenset({
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
})
DANGEROUS_CAPS = frozenset({
    "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "NET_ADMIN",
    "BPF", "SYS_BOOT", "PERFMON", "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG", "SYS_NICE",
    "IPC_LOCK", "IPC_OWNER", "LEASE", "SYS_RESOURCE", "LINUX_IMMUTABLE", "WAKE_ALARM", "BLOCK_SUSPEND",
    "AUDIT_CONTROL", "CHECKPOINT_RESTORE", "SYS_PACCT", "SYS_TTY_CONFIG",
})


def norm_cap(cap: str) -> str:
    c = cap.strip().upper()
    return c[4:] if c.startswith("CAP_") else c


def caps_dropped_all(caps: list[str]) -> bool:
    norm = {norm_cap(c) for c in caps}
    return "ALL" in norm or norm >= DEFAULT_CAPS


# ---------------------------------------------------------------------------------------------
# shell commands of RUN instructions
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RunCommand:
    cmd: Command  # effective command (wrappers skipped)
    wrappers: list[str]
    to_source: Callable[[int], int]  # offset in the script -> offset in the file
    script: str
    instruction: Instruction
    whole: Command  # the command as written (wrappers included)

    def span(self) -> Span:
        """The command as written, from its first word that is not a reserved word (`if`, `then`,
        `do`...): `if x; then\\ sudo y` points at `sudo y`, on its own line."""
        start = self.whole.start
        for w in self.whole.words:
            if not (w.text in _RESERVED and w.raw == w.text):
                start = w.start
                break
        return Span(self.to_source(start), self.to_source(max(start, self.whole.end - 1)) + 1)

    def word_span(self, index: int) -> Span:
        w = self.cmd.words[index]
        return Span(self.to_source(w.start), self.to_source(max(w.start, w.end - 1)) + 1)

    @property
    def name(self) -> str:
        return self.cmd.basename


_RESERVED = frozenset({"!", "if", "then", "else", "elif", "do", "while", "until", "{", "("})

_SHELL_INTERPRETERS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"}


def run_scripts(ins: Instruction) -> list[tuple[str, Callable[[int], int]]]:
    """Shell scripts of a RUN: the command line, heredoc bodies run by a shell, and exec-form
    `["sh", "-c", "..."]`. Each comes with a map from script offsets to file offsets."""
    out: list[tuple[str, Callable[[int], int]]] = []
    if ins.json is not None:
        js = ins.json
        if len(js) >= 3 and js[0].rsplit("/", 1)[-1] in _SHELL_INTERPRETERS and js[1].startswith("-") and "c" in js[1]:
            start = ins.args_span.start
            out.append((js[2], lambda _i, s=start: s))
        elif js:
            start = ins.args_span.start
            out.append((" ".join(js), lambda _i, s=start: s))
        return out
    args = ins.args
    if ins.heredocs:
        # the command line runs the heredocs: `RUN <<EOF` (shell) or `RUN python3 <<EOF` (not)
        line_cmds = split_commands(strip_heredoc_markers(args))
        interpreter = line_cmds[0].basename if line_cmds and line_cmds[0].words else ""
        if line_cmds and line_cmds[0].words:
            out.append((args, lambda i, ins=ins: ins.source_offset(min(i, len(ins.args)))))
        if interpreter in ("", *_SHELL_INTERPRETERS):
            for hd in ins.heredocs:
                base = hd.body_span.start
                out.append((hd.body, lambda i, b=base: b + i))
        return out
    out.append((args, lambda i, ins=ins: ins.source_offset(min(i, len(ins.args)))))
    return out


_HEREDOC_MARKER = re.compile(r"<<-?\s*(['\"]?)[A-Za-z0-9_.-]+\1")


def strip_heredoc_markers(text: str) -> str:
    """`text` with each heredoc marker (`<<EOF`, `<<-'END'`) blanked, offsets kept: the command
    line of a RUN whose heredocs are its scripts."""
    return _HEREDOC_MARKER.sub(lambda m: " " * len(m.group()), text)


def run_commands(ins: Instruction) -> list[RunCommand]:
    """Every simple command a RUN executes, `sh -c '...'` scripts included (one level).

    Memoised on the instruction (rules and fixers both walk RUN bodies): each RUN is parsed
    once however long the file is."""
    memo = ins.memo
    if memo is None:
        memo = ins.memo = {}
    cmds = memo.get("run")
    if cmds is None:
        cmds = memo["run"] = list(_run_commands(ins))
    return cmds


def _run_commands(ins: Instruction) -> Iterator[RunCommand]:
    for script, to_src in run_scripts(ins):
        text = strip_heredoc_markers(script) if ins.heredocs and script is ins.args else script
        for cmd in split_commands(text):
            if not cmd.words:
                continue
            wrappers, eff = cmd.effective()
            yield RunCommand(eff, wrappers, to_src, text, ins, cmd)
            inner = eff.shell_script() if eff.words else None
            if inner is not None:
                base = inner.start
                for sub in split_commands(inner.text):
                    if sub.words:
                        w2, e2 = sub.effective()
                        yield RunCommand(e2, w2, lambda _i, b=base, f=to_src: f(b), inner.text, ins, sub)
