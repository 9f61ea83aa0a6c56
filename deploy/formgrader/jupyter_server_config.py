"""Jupyter Server settings for the grading account's Formgrader service only.

Installed by deploy/build-env.sh as <env>/etc/samskaping/formgrader/ and read
through JUPYTER_CONFIG_PATH, which the hub sets for this service and for no
other server (deploy/jupyterhub_config.py).

nbgrader shows Formgrader in a frame inside JupyterLab. JupyterHub >= 4.1 sends
"Content-Security-Policy: frame-ancestors 'none'" from every server it starts,
so that no page on the hub's origin can frame another user's server, and the
frame stays blank (nbgrader issue #1870). Here, for this one server, pages are
allowed to frame it if they come from the same origin ('self').

Why that is acceptable here: only instructors can open this service (students
get 403), and no instructor can open a student's server (nobody is a hub admin),
so the only pages an instructor's browser loads from the hub's origin are their
own server, the hub's pages and this service. Formgrader shows students'
notebooks either way, framed or not.
"""

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
