"""Health probes chosen from evidence: a probe is proposed only with a tool the image provides
and a port the service listens on. Shared by the Dockerfile HEALTHCHECK fix and the compose
healthcheck fix.

What counts as knowing that an image has a tool, strongest first: the image's own files (read
through the engine, `ImageFacts.tools`), a package the Dockerfile installs, the image's own
client for its service (pg_isready in postgres), the language runtime of a language image
(python in python:*). Without any of these there is no probe: the fix needs input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batten.live.imagefacts import ImageFacts

# ports that do not speak HTTP: an HTTP probe there would mark a working service unhealthy
NOT_HTTP = frozenset({21, 22, 23, 25, 53, 110, 143, 389, 465, 587, 636, 993, 995, 1433, 1521, 1883,
                      2181, 3306, 4222, 4369, 5432, 5672, 6379, 6650, 7000, 7001, 8883, 9042, 9050,
                      9092, 11211, 25565, 26257, 27017})

# images that ship curl in their non-slim variants, and images that always ship it
CURL_IMAGES = frozenset({"buildpack-deps", "php", "eclipse-temurin", "maven", "gradle", "tomcat"})
CURL_FULL_IMAGES = frozenset({"python", "node", "ruby", "golang", "perl", "rust", "gcc", "openjdk",
                              "haskell", "erlang", "elixir", "pypy"})


@dataclass(frozen=True, slots=True)
class Probe:
    argv: tuple[str, ...] | None  # exec form (no shell needed)
    shell: str | None  # shell form (needs /bin/sh)
    note: str  # why this probe: the evidence it rests on
    confirmed: bool  # True: tool and port are known; False: a proposal the user must confirm

    def compose_test(self) -> list[str]:
        """The compose `test:` list (`$` doubled: compose would interpolate it)."""
        if self.argv is not None:
            return ["CMD", *(a.replace("$", "$$") for a in self.argv)]
        assert self.shell is not None
        return ["CMD-SHELL", self.shell.replace("$", "$$")]

    def dockerfile_cmd(self) -> str:
        """The text after HEALTHCHECK ... CMD (JSON exec form when no shell is needed)."""
        import json

        if self.argv is not None:
            return json.dumps(list(self.argv))
        assert self.shell is not None
        return self.shell


@dataclass(frozen=True, slots=True)
class NoProbe:
    reason: str


def _version(tag: str) -> tuple[int, ...] | None:
    m = re.match(r"v?(\d+)(?:\.(\d+))?", tag)
    if m is None:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)


def service_probe(name: str, tag: str, port: int | None = None) -> tuple[str, Probe] | None:
    """(tool, probe) with the image's own client for official service images."""
    v = _version(tag)
    hp = ["-h", "127.0.0.1"]
    if name in ("postgres", "postgis"):
        sh = "pg_isready" + (f" -p {port}" if port else "") + " -U \"${POSTGRES_USER:-postgres}\""
        return "pg_isready", Probe(None, sh, f"the {name} image's own pg_isready", True)
    if name == "mysql":
        argv = ("mysqladmin", "ping", *hp, *(["-P", str(port)] if port else []))
        return "mysqladmin", Probe(argv, None, "the mysql image's own mysqladmin", True)
    if name == "mariadb":
        tool = "mysqladmin" if v is not None and v[0] < 11 else "mariadb-admin"
        argv = (tool, "ping", *hp, *(["-P", str(port)] if port else []))
        return tool, Probe(argv, None, f"the mariadb image's own {tool}", True)
    if name in ("redis", "valkey"):
        tool = f"{name}-cli"
        argv = (tool, *(["-h", "127.0.0.1", "-p", str(port)] if port else []), "ping")
        return tool, Probe(argv, None, f"the {name} image's own {tool}", True)
    if name == "mongo":
        tool = "mongo" if v is not None and v[0] <= 4 else "mongosh"
        argv = (tool, "--quiet", "--eval", "db.adminCommand('ping')")
        return tool, Probe(argv, None, f"the mongo image's own {tool} (tag {tag or 'latest'})", True)
    if name == "rabbitmq":
        return "rabbitmq-diagnostics", Probe(("rabbitmq-diagnostics", "-q", "ping"), None,
                                             "the rabbitmq image's own rabbitmq-diagnostics", True)
    return None


def http_probe(port: int, has: dict[str, bool | None], where: str) -> Probe | None:
    """An HTTP probe of 127.0.0.1:port with the first tool known to exist. curl, Python and
    Node probes succeed on any HTTP answer (a 404 on / still means the server is up); wget fails
    on error statuses, so a wget probe is a proposal to confirm (the path must answer 2xx)."""
    url = f"http://127.0.0.1:{port}/"
    if has.get("curl"):
        return Probe(("curl", "-so", "/dev/null", url), None, f"curl in the image, {where}", True)
    for py in ("python3", "python"):
        if has.get(py):
            code = (f"import http.client as h; c = h.HTTPConnection('127.0.0.1', {port}, timeout=4); "
                    "c.request('HEAD', '/'); c.getresponse()")
            return Probe((py, "-c", code), None, f"the image's {py}, {where}", True)
    if has.get("node"):
        code = (f"require('http').get('{url}', () => process.exit(0))"
                ".on('error', () => process.exit(1))")
        return Probe(("node", "-e", code), None, f"the image's Node.js, {where}", True)
    if has.get("wget"):
        return Probe(("wget", "-q", "-O", "/dev/null", url), None,
                     f"wget in the image, {where}; wget fails unless / answers 2xx: confirm the path", False)
    return None


def tool_evidence(
    facts: ImageFacts, *, name: str, tag: str, family: str, installed: set[str]
) -> dict[str, bool | None]:
    """Which probe tools the image is known to have (True), known to lack (False) or not."""
    small = any(x in tag for x in ("slim", "alpine", "minimal"))
    out: dict[str, bool | None] = {}
    for tool in ("curl", "wget", "python3", "python", "node"):
        known = facts.has_tool(tool)
        if known is None:
            if tool in installed or (tool == "curl" and (name in CURL_IMAGES or (name in CURL_FULL_IMAGES and not small))):
                known = True
            elif tool == "wget" and family == "alpine":
                known = True  # BusyBox's wget
            elif (tool in ("python", "python3") and name in ("python", "pypy")) or (tool == "node" and name == "node"):
                known = True
        out[tool] = known
    return out


def choose(
    facts: ImageFacts,
    *,
    name: str,
    tag: str,
    family: str,
    installed: set[str],
    ports: list[int],
    ports_from: str,
    default_port_service: bool = True,
) -> Probe | NoProbe:
    """The probe for a service, or why there is none. `ports` are the ports it is known to
    listen on (EXPOSE, compose ports/expose, the image's ExposedPorts), nearest first."""
    if family in ("scratch", "distroless", "windows") and facts.tools is None:
        return NoProbe("the image has no shell or HTTP client known for a probe")
    own = service_probe(name, tag, None) if default_port_service else None
    if own is not None:
        tool, probe = own
        if facts.has_tool(tool) is False:
            return NoProbe(f"the image has no {tool}")
        return probe
    http = [p for p in ports if p not in NOT_HTTP]
    if not http:
        if ports:
            return NoProbe(f"port {ports[0]} does not speak HTTP and no client for it is known in the image")
        return NoProbe("no port the service listens on is known (EXPOSE, ports, expose)")
    has = tool_evidence(facts, name=name, tag=tag, family=family, installed=installed)
    probe = http_probe(http[0], has, f"port {http[0]} ({ports_from})")
    if probe is None:
        return NoProbe(f"no HTTP client (curl, wget, python, node) is known to exist in the image "
                       f"{facts.ref or name or 'of this service'}")
    return probe
