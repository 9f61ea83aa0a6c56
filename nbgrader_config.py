"""nbgrader configuration for the course *Samskaping og velferdsledelse*.

The course root is this folder. nbgrader's ``source/`` is ``solutions/`` and its
``release/`` is ``exercises/`` (generated, never edited by hand).

The exchange is a folder inside the repository by default, so that release,
fetch and submit work on one machine with no set-up. On a shared server, point
it at the shared exchange with the environment variable ``NBGRADER_EXCHANGE``
(for example ``/srv/nbgrader/exchange``).

The gradebook is ``gradebook.db`` (SQLite) in this folder by default. On a
shared server the hub gives it through the environment variable
``NBGRADER_DB_URL``, a PostgreSQL address with no password in it (the grader's
account logs in over PostgreSQL's socket; see deploy/setup-gradebook.sh).
"""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

# nbgrader runs `alembic heads` in a new process each time it creates a gradebook
# (about three seconds); the course finds the same answer in this process.
from course.alembic_head import install  # noqa: E402

install()

c.CourseDirectory.course_id = "samskaping"
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# The gradebook: SQLite in the course folder (nbgrader's default) unless the
# class server names a database, for example
# NBGRADER_DB_URL=postgresql+psycopg2://@/gradebook_samskaping?host=/run/postgresql
# The course's tools (`course grade`, `course report`) follow this setting too.
if os.environ.get("NBGRADER_DB_URL"):
    c.CourseDirectory.db_url = os.environ["NBGRADER_DB_URL"]

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", str(HERE / ".exchange"))
# Where a student's fetched exercises land (kept out of git, apart from the
# config file that JupyterLab's assignment list reads there). The assignment
# list fails with a bare FileNotFoundError when the folder is missing, so a
# folder given in NBGRADER_ASSIGNMENT_DIR is created here.
ASSIGNMENT_DIR = Path(os.environ.get("NBGRADER_ASSIGNMENT_DIR", HERE / "mine_oppgaver"))
ASSIGNMENT_DIR.mkdir(parents=True, exist_ok=True)
c.Exchange.assignment_dir = str(ASSIGNMENT_DIR)

# The course's exchange classes (course/exchange/), the same ones the students'
# servers use on a class server (deploy/nbgrader_config.py): each submission is
# readable only by its student and the grader, collect takes only a student's
# own folders and reports files changed after submitting (in `course grade`),
# and released feedback can be found only by its student. On one machine they
# behave like nbgrader's own.
c.ExchangeFactory.release_assignment = "course.exchange.SecureExchangeReleaseAssignment"
c.ExchangeFactory.submit = "course.exchange.SecureExchangeSubmit"
c.ExchangeFactory.collect = "course.exchange.SecureExchangeCollect"
c.ExchangeFactory.release_feedback = "course.exchange.SecureExchangeReleaseFeedback"
# A file in a submission that changed more than this many seconds after the time
# in its timestamp.txt is reported. Submitting takes milliseconds; 30 seconds
# allows for a loaded server and a little clock skew on a network filesystem.
c.SecureExchangeCollect.grace_seconds = 30

# Each cell of a student's notebook gets 30 seconds: every task in this course
# runs in well under a second, so a cell that needs longer is stuck, not slow.
c.Execute.timeout = 30
c.Execute.startup_timeout = 60

# Student code runs in a sandbox when autograding, also with plain `nbgrader
# autograde` (course/instructor/sandbox.py): no access to solutions/, the
# gradebook or other students' work, no network, at most 2 GB of memory, and
# the whole notebook is stopped after 300 seconds. Each cell keeps at most
# 100 kB of output. `course grade` does the same, in parallel, and also catches
# what nbgrader alone does not (see course/instructor/autograde.py).
c.Autograde.autograde_preprocessors = [
    "course.instructor.sandbox.SandboxedExecute",  # instead of nbgrader's Execute
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.SandboxedKernelManager.time_limit = 300

# Deadlines (course/frister.py): the term's deadlines and each student's
# extension are in frister.csv in this folder (see `course frister`). What
# happens to work handed in after the student's own deadline:
#   late = "godta": collected and marked late; penalty "ingen" (none), "fast"
#          (fixed_penalty points off, never below zero) or "null" (zero points)
#   late = "avvis": refused when the student submits, and never collected
c.DeadlinePolicy.late = "godta"
c.DeadlinePolicy.penalty = "ingen"
c.DeadlinePolicy.fixed_penalty = 1.0
# nbgrader's own late-penalty step, following the policy above.
c.AssignLatePenalties.plugin_class = "course.frister.LatePenalty"

# Two målformer, one exercise (course/instructor/malform.py): a notebook answered
# in nynorsk is handed in under the exercise's name, marked kurs.målform = nn.
# When grading, nbgrader puts the source's locked cells and tests back; this
# step then puts the nynorsk source's (solutions_nynorsk/) in their place, so
# the tests are the same and the messages, explanations and task texts are the
# student's own målform. The mark is kept in the autograded notebook for the
# feedback's words.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "course.instructor.malform.OverwriteCellsMalform",  # instead of nbgrader's OverwriteCells
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("kurs", "målform")}

# A student who deletes a graded cell gets it back from the source when grading.
c.OverwriteCells.add_missing_cells = True  # OverwriteCellsMalform inherits it

# What a student sees where the solution was. Every answer cell shows the
# variable to fill in above its solution region (svar_1a = ""), so a blank
# answer raises no error; the visible tests say what is missing.
c.ClearSolutions.code_stub = {
    "python": "# Fyll inn svaret ditt ovenfor, og kjør cellen med Shift+Enter.",
}
c.ClearSolutions.text_stub = "Skriv svaret ditt her."

# Warnings must not cost points. nbgrader scores any stderr output in a test
# cell as a failure (nbgrader.utils.determine_grade), and a DeprecationWarning
# from a library is not the student's fault. nbgrader's own IgnorePattern step
# (it runs after Execute in autograde) drops stderr outputs that are Python
# warnings ("file.py:12: SomethingWarning: ..."); an error still fails the test.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)^.*:\d+: \w*Warning: "

# Feedback in Norwegian, with no hidden tests or mark schemes in it, not even in
# the traceback of a failing hidden test (course/instructor/feedback.py; the
# template is a translated copy of nbgrader's, in course/instructor/templates/feedback/).
from course.instructor.feedback import TEMPLATES, HideHiddenTests  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402
from nbgrader.server_extensions.formgrader.handlers import template_path as NBGRADER_TEMPLATES  # noqa: E402

# The Norwegian template is named "feedback", the name generate_feedback asks
# for, and its folder comes first. HTMLExporter.template_name is deliberately
# not set: formgrader uses HTMLExporter too (with its "formgrade" template, from
# nbgrader's folder listed second), and a template_name here would replace it
# there as well, leaving formgrader's grading page without score boxes.
c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(NBGRADER_TEMPLATES)]
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]

# Why, after the deadline: the feedback shows each autograded item's
# explanation (the "# FORKLARING:" comment block in its hidden tests: the right
# answer and why), never the hidden tests' code. Feedback is released after the
# deadline, so this gives nothing away to students who have not submitted. Set
# it to False for a course that reuses its items from year to year.
c.HideHiddenTests.show_explanations = True

# Submissions downloaded from an LMS (`nbgrader zip_collect`, or
# `course grade oppgave_NN --zip nedlasting.zip`). Canvas names each file
# "<name>_<late_><user id>_<submission id>_<the student's file name>", for example
# hansenkari_late_123456_7890123_oppgave_01-1.ipynb. The Canvas user id becomes
# the student id (unique, and the "ID" column of Canvas's grade import). The
# notebook name comes from the assignment's folder, not from the file name, so a
# renamed upload ("oppgave_01 (2).ipynb") is still graded.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/downloaded/(?P<file_id>[^/]+)/extracted/(?:.*/)?"
    r"[^/_]+_(?:late_|LATE_)?(?P<student_id>\d+)_\d+_[^/]*\.ipynb$"
)
