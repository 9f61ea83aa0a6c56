"""A shared nbgrader exchange that students cannot tamper with.

nbgrader's own filesystem exchange (``nbgrader.exchange.default``) is made for
one trusted machine. On a server shared by a class it lets any student read,
change, rename or delete another student's submission once the folder name is
known: release makes the exchange root 0777 and ``inbound/`` 2733 (no sticky
bit), and submit makes each submission folder 0777 with its files 0644
(nbgrader issues #978, #1104, #1225). The folder name
(``student+assignment+timestamp+random``) is the only protection, and
``timestamp.txt`` is written by the student's own process, so a student can
change it, or the notebook, after the deadline.

This module keeps nbgrader's exchange and replaces only what needs replacing,
through nbgrader's pluggable ``ExchangeFactory`` (set in ``nbgrader_config.py``
and ``deploy/nbgrader_config.py``):

``SecureExchangeReleaseAssignment`` (the grader)
    checks the layout before releasing, and fixes what the grader owns:
    a world-writable exchange root needs the sticky bit; ``inbound/`` becomes
    3733 (setgid, sticky, ``-wx`` for others).
``SecureExchangeSubmit`` (a student)
    builds the submission in a private 0700 staging folder inside ``inbound/``
    and moves it into place when it is complete: the folder 0750 and its files
    0640, in the grader's group (inherited from ``inbound/``'s setgid bit).
    Only the student and the grader can read it. Before that it asks for the
    student's own deadline and refuses a late submission, or warns, as the
    course's policy says.
``SecureExchangeCollect`` (the grader)
    collects only folders owned by the student they are named after (or by the
    grader), never follows symbolic links, skips what it cannot read instead of
    failing the whole collection, and compares the change time (``st_ctime``,
    which no user can set) of the folder and of everything in it with the time
    in its ``timestamp.txt``. What it finds is written to
    ``<course root>/innleveringskontroll/`` and reported by ``course grade``.
    When the course has deadlines (course/frister.py), it measures each
    submission against the student's own deadline with the time it can trust,
    and under the policy 'avvis' keeps the student's last submission on time.
``SecureExchangeReleaseFeedback`` (the grader)
    keeps ``feedback/`` at 0711 and makes each released feedback file 0644
    (readable whatever the grader's umask, found only by its name).

The layout, made by :func:`prepare_exchange` (as root, once per course)::

    <root>                       root:root   1777  sticky: nobody renames or deletes another's entry
    <root>/<course>              grader      0755
    <root>/<course>/outbound     grader      0755  released exercises, readable by all
    <root>/<course>/inbound      grader:grp  3733  setgid + sticky, -wx for others: create, never list
    <root>/<course>/feedback     grader      0711  enter, never list; files named by a secret hash

The root is sticky and writable by everyone, like ``/tmp``, rather than 0755:
nbgrader checks that every account can write to it before any exchange
command (``Exchange.ensure_root``), also for the fetch and list commands this
module does not replace.

Feedback: ``release_feedback`` names each file ``md5(submission secret +
notebook name).html``. The 128-character secret is drawn by the student's
submit and lies only in the student's submission (0640 here, 0644 in a 0777
folder with nbgrader's classes) and in the nbgrader cache in the student's home
(0700). ``fetch_feedback`` computes the names from the student's own cache.
Since ``feedback/`` cannot be listed, a student can fetch only their own
feedback.

What remains possible (said in docs/utveksling.md as well):

- A student owns their own submission folder until it is collected: they can
  change, add or delete files in it, and edit ``timestamp.txt``. The collected
  copy is what is graded; a change made before collection is caught by the
  change-time check, since writing a file, renaming it, or changing its mode
  or group sets its ``st_ctime`` to the real time. A change made after the
  collection does not reach the graded copy.
- A student can chmod their own folder open (only exposing their own work), or
  make it unreadable for the grader (then it is reported, not collected).
- A student can create entries in the exchange root and in ``inbound/``; they
  are never collected unless they are the student's own submission.
- The administrator (root) and the grader can read every submission.
- The check trusts the server's clock: on a network filesystem the change time
  comes from the file server's clock, so keep the clocks synchronised (NTP).

On one machine with one user (``make lab``, a local exchange inside the course
folder), nothing here needs root or special groups: the user owns everything.

One module per verb, as nbgrader lays out its own exchange: ``layout`` (the
folders and modes, and ``python -m course.exchange``), ``release`` (exercises
and feedback), ``submit``, ``collect``, and ``timecheck`` (the change-time
check that collect and the reports share). The classes are named here, where
nbgrader_config.py finds them (``course.exchange.SecureExchangeSubmit``).
"""


from .collect import RECORDS, SecureExchangeCollect, read_late_refused, read_records, records_folder
from .layout import ExchangeLayoutError, main, prepare_exchange
from .release import SecureExchangeReleaseAssignment, SecureExchangeReleaseFeedback
from .submit import LateError, MalformError, SecureExchangeSubmit, hand_in_one_malform
from .timecheck import check_submission, describe, describe_all, describe_rejected, submission_time

__all__ = [
    "RECORDS", "ExchangeLayoutError", "LateError", "MalformError", "SecureExchangeCollect",
    "SecureExchangeReleaseAssignment", "SecureExchangeReleaseFeedback", "SecureExchangeSubmit", "check_submission",
    "describe", "describe_all", "describe_rejected", "hand_in_one_malform", "main", "prepare_exchange",
    "read_late_refused", "read_records", "records_folder", "submission_time",
]
