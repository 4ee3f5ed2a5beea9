"""Values from evidence, as pure functions (no engine, no docker import: the fixers use them):
memory sizes as Docker reads and writes them, and the heap a service declares.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

MIB = 1024 * 1024


_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)?\s*$", re.IGNORECASE)
_MEM_MULT = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def parse_memory(value: Any) -> int | None:
    """'512M', '1g', '1.5GiB', '536870912', 536870912 -> bytes (binary multiples, as Docker)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a memory size: {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    m = _MEM_RE.match(str(value))
    if not m:
        raise ValueError(f"not a memory size: {value!r}")
    number, unit = float(m.group(1)), m.group(2).lower()
    return int(number * _MEM_MULT[unit])


def memory_step(n_bytes: int) -> int:
    """Round up to 64, 96, 128, 192, 256, 384, 512, 768, 1024... MiB."""
    mib = max(1, math.ceil(n_bytes / MIB))
    step = 64
    while True:
        for candidate in (step, step * 3 // 2):
            if candidate >= mib:
                return candidate * MIB
        step *= 2


def format_memory(n_bytes: int) -> str:
    """Whole MiB as M (or G); anything else in K, rounded up: never below `n_bytes`."""
    if n_bytes % MIB:
        return f"{math.ceil(n_bytes / 1024)}K"
    mib = n_bytes // MIB
    if mib >= 1024 and mib % 1024 == 0:
        return f"{mib // 1024}G"
    return f"{mib}M"


# ---------------------------------------------------------------------- declared heaps
HEAP_FACTOR = 1.5  # a heap needs room around it: metaspace, threads, buffers, the rest of the process
HEAP_FLOOR = 256 * MIB
_XMX = re.compile(r"(?:^|[\s\"'=])-Xmx(\d+(?:\.\d+)?)([kKmMgGtT]?)(?=$|[\s\"'])")
_NODE_HEAP = re.compile(r"--max[-_]old[-_]space[-_]size[= ](\d+)")
# variables that hold a heap size on their own (not JVM options)
HEAP_SIZE_VARS = ("MAX_HEAP_SIZE", "ES_HEAP_SIZE", "HEAP_SIZE", "JVM_HEAP_SIZE",
                  "NEO4J_server_memory_heap_max__size", "NEO4J_dbms_memory_heap_max__size")
_UNIT = {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB, "t": 1024 * 1024 * MIB}


def declared_heaps(env: Mapping[str, str], command: Iterable[str] = ()) -> list[tuple[int, str]]:
    """Heap sizes a service declares: -Xmx in any variable or in its command (ES_JAVA_OPTS,
    JAVA_OPTS, JAVA_TOOL_OPTIONS, LS_JAVA_OPTS...), NODE_OPTIONS --max-old-space-size (MiB), and
    variables that hold a heap size (MAX_HEAP_SIZE...). (bytes, where it was declared), largest first."""
    found: list[tuple[int, str]] = []
    sources = [(f"{k}={v}", str(v)) for k, v in env.items()] + [(" ".join(command), " ".join(command))]
    for where, text in sources:
        where = where if len(where) <= 60 else where[:57] + "..."
        for m in _XMX.finditer(text):
            found.append((int(float(m.group(1)) * _UNIT[m.group(2).lower()]), where))
        for m in _NODE_HEAP.finditer(text):
            found.append((int(m.group(1)) * MIB, where))
    for name in HEAP_SIZE_VARS:
        value = str(env.get(name) or "").strip()
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?", value)
        if m:
            found.append((int(float(m.group(1)) * _UNIT[m.group(2).lower()]), f"{name}={value}"))
    return sorted(found, key=lambda t: -t[0])


def memory_for_heap(heap: int) -> int:
    """The smallest memory limit batten proposes for a declared heap: 1.5x + a floor, rounded up."""
    return memory_step(int(heap * HEAP_FACTOR) + HEAP_FLOOR)
