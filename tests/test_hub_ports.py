"""Every person's server gets a port of its own (deploy/jupyterhub_config.py's pre-spawn hook).

JupyterHub's default port for a local server comes from binding port 0 and
closing it again; servers started at the same moment can then draw the same
port, and the hub sends the student whose server could not bind to the other
student's server (jupyterhub#3005; `make benchmark-hub` met it at 90
simultaneous log-ins). The hook is loaded from the hub's real configuration
and called as the hub calls it before each start.
"""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest
from jupyterhub.app import JupyterHub

from conftest import ROOT

EPHEMERAL = range(32768, 61000)  # Linux's default ip_local_port_range: what bind(0) and connect() draw from


@pytest.fixture(scope="module")
def own_port(tmp_path_factory):
    env = {"SAMSKAPING_HUB_STATE": str(tmp_path_factory.mktemp("hub")), "SAMSKAPING_INNLOGGING": "felles-passord",
           "SAMSKAPING_FELLES_PASSORD": "x", "SAMSKAPING_STUDENTER": "root", "SAMSKAPING_LAERERE": "root"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        app = JupyterHub()
        app.load_config_file(str(ROOT / "deploy" / "jupyterhub_config.py"))
    return app.config.Spawner.pre_spawn_hook


def _spawn(hook, name: str) -> int:
    spawner = SimpleNamespace(user=SimpleNamespace(name=name), port=0)
    hook(spawner)
    return spawner.port


def test_many_servers_started_at_once_get_different_ports(own_port):
    ports = [_spawn(own_port, f"student{i}") for i in range(400)]
    assert len(set(ports)) == len(ports)
    assert not any(port in EPHEMERAL for port in ports)


def test_a_person_keeps_the_port_and_a_taken_one_is_skipped(own_port):
    first = _spawn(own_port, "kari")
    assert _spawn(own_port, "kari") == first  # a restart keeps the port
    with socket.socket() as squatter:  # another program has taken it meanwhile
        squatter.bind(("", first))
        squatter.listen()
        moved = _spawn(own_port, "kari")
    assert moved != first
    assert _spawn(own_port, "ola") != moved  # nobody gets a port another person's server has
