"""nbgrader's settings for everyone on the class server (students and instructors).

Installed by deploy/build-env.sh as ``<env>/etc/jupyter/nbgrader_config.py``,
so every server started from the server's environment reads it. The grader's
course folder has its own nbgrader_config.py, which comes on top of this one.

The hub sets ``NBGRADER_EXCHANGE`` and ``SAMSKAPING_KURS_ID`` for every server
it starts (deploy/jupyterhub_config.py).
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

c.CourseDirectory.course_id = os.environ.get("SAMSKAPING_KURS_ID", "samskaping")
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# nbgrader's own exchange lets any student read, rename or delete another
# student's submission once its folder name is known (each submission folder is
# made world-writable; nbgrader issues #978, #1104, #1225). The course's exchange
# classes keep each submission readable only by its student and the grader.
c.ExchangeFactory.release_assignment = "course.exchange.SecureExchangeReleaseAssignment"
c.ExchangeFactory.submit = "course.exchange.SecureExchangeSubmit"
c.ExchangeFactory.collect = "course.exchange.SecureExchangeCollect"
