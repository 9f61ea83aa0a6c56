"""Students' fetched exercises land in this folder.

JupyterLab's assignment list reads nbgrader's configuration from this folder
rather than from the course root, so this file loads the course's own.
"""

load_subconfig("../nbgrader_config.py")  # noqa: F821 (provided by traitlets)
