"""Measuring the machine: memory (RSS, USS, PSS) and CPU of the hub, the proxy and the servers, and the machine over time.

PSS (proportional set size) is each process's fair share of the memory it
shares with others (the Python libraries every server maps): the figure to add
up when asking how many servers fit. It needs root (every process's smaps).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from urllib.parse import urlparse

import psutil
import requests

GIB = 1024 ** 3
MIB = 1024 ** 2


def memory(proc: psutil.Process) -> dict[str, float]:
    info = proc.memory_full_info()
    return {"rss": info.rss, "uss": info.uss, "pss": getattr(info, "pss", info.uss)}


def tree_memory(proc: psutil.Process) -> dict[str, float]:
    """A process and everything under it (a server and its kernels), summed."""
    total = {"rss": 0.0, "uss": 0.0, "pss": 0.0}
    for p in [proc, *proc.children(recursive=True)]:
        try:
            for key, value in memory(p).items():
                total[key] += value
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def hub_and_proxy(klasse) -> tuple[psutil.Process, psutil.Process]:
    """The class's hub process and the configurable-http-proxy it started."""
    hub = psutil.Process(klasse.hub.proc.pid)
    proxy = next(p for p in hub.children(recursive=True) if "configurable-http-proxy" in " ".join(p.cmdline()))
    return hub, proxy


def servers_of(uids: set[int]) -> dict[int, psutil.Process]:
    """uid -> that account's jupyterhub-singleuser process."""
    found = {}
    for p in psutil.process_iter(["uids", "cmdline"]):
        try:
            if p.info["uids"].real in uids and any("jupyterhub-singleuser" in a for a in p.info["cmdline"] or []):
                found[p.info["uids"].real] = p
        except (psutil.NoSuchProcess, TypeError):
            pass
    return found


def kernels_of(server: psutil.Process) -> list[psutil.Process]:
    """The kernels a server has started (its ipykernel children)."""
    return [p for p in server.children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]


def processes_of(uid: int) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]


def check_routes(proxy: psutil.Process, servers: dict[int, psutil.Process], uids: dict[int, str]) -> dict:
    """Does the proxy send each student to the port their own server listens on? (The proxy's REST API, as root.)"""
    cmd = proxy.cmdline()
    api_port = cmd[cmd.index("--api-port") + 1]
    token = proxy.environ().get("CONFIGPROXY_AUTH_TOKEN", "")
    routes = requests.get(f"http://127.0.0.1:{api_port}/api/routes", headers={"Authorization": f"token {token}"},
                          timeout=30).json()
    listening: dict[str, set[int]] = {}
    for uid, proc in servers.items():
        try:
            listening[uids[uid]] = {c.laddr.port for c in proc.net_connections(kind="inet")
                                    if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            pass
    owner_of_port = {port: name for name, ports in listening.items() for port in ports}
    problems = []
    for name in uids.values():
        route = routes.get(f"/user/{name}") or routes.get(f"/user/{name}/")
        if not route:
            problems.append(f"{name} has no route")
            continue
        port = urlparse(route["target"]).port
        if port not in listening.get(name, set()):
            problems.append(f"{name}'s route goes to port {port}, where "
                            f"{owner_of_port.get(port, 'no server of a student')} listens "
                            f"({name}'s own server: {sorted(listening.get(name, [])) or 'not running'})")
    return {"routes": len(routes), "problems": problems}


def free_m() -> str:
    return subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.strip()


class Sampler(threading.Thread):
    """Every second: memory in use, the 1-minute load and CPU use, while a scenario (and the grading) runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[dict] = []
        self.halt = threading.Event()
        psutil.cpu_percent(interval=None)

    def run(self) -> None:
        while not self.halt.wait(1.0):
            vm = psutil.virtual_memory()
            self.samples.append({"t": time.time(), "used": vm.used, "available": vm.available,
                                 "load1": os.getloadavg()[0], "cpu": psutil.cpu_percent(interval=None)})

    def between(self, start: float, end: float) -> list[dict]:
        return [s for s in self.samples if start <= s["t"] <= end]
