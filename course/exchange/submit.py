"""The student's submit: one målform, the student's own deadline, and a folder only the student and the grader can read."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from nbgrader.exchange.abc.exchange import ExchangeError
from nbgrader.exchange.default.submit import ExchangeSubmit

from course import frister
from course.malform import NYNORSK, bokmal_file, choose, nynorsk_file, set_malform

from .layout import SUBMISSION_DIR_MODE, SUBMISSION_FILE_MODE


class MalformError(ExchangeError):
    """A student answered in both målformer of an exercise: nothing is submitted, and they are told why."""


def hand_in_one_malform(folder: str | os.PathLike, release: str | os.PathLike) -> None:
    """Leave one version of each notebook in a submission being built: the one the student answered.

    An exercise is released in bokmål (``oppgave_01.ipynb``) and nynorsk
    (``oppgave_01_nynorsk.ipynb``); nbgrader's gradebook knows the first name
    only. The version with answers is handed in under that name, marked with its
    målform (``metadata.kurs.målform``), and the other is left out of the
    submission (it stays in the student's own folder). Answers in both: nothing
    is guessed; ``MalformError`` says in both målformer what to do.
    """
    import nbformat

    folder, release = Path(folder), Path(release)
    for released in sorted(release.glob("*.ipynb")):
        name = released.name
        if bokmal_file(name) is not None or not (folder / nynorsk_file(name)).is_file():
            continue
        choice = choose(folder, name, release)
        if choice.both:
            raise MalformError(choice.message)
        if choice.malform == NYNORSK:
            nb = nbformat.read(choice.path, as_version=4)
            set_malform(nb, NYNORSK)
            nbformat.write(nb, folder / name)
        (folder / nynorsk_file(name)).unlink()


class LateError(ExchangeError):
    """The student's deadline has passed and the course refuses late work: nothing is submitted."""


class SecureExchangeSubmit(ExchangeSubmit):
    """Submit into a folder only the student and the grader can read (0750, files 0640).

    The submission is built in a private staging folder in ``inbound/`` (0700,
    its name starts with a dot, so collect never picks it up) and moved into
    place complete, with its final permissions, in one rename.
    """

    def init_dest(self):
        super().init_dest()
        self.check_deadline()

    def check_deadline(self) -> None:
        """Refuse (policy 'avvis') or warn about a submission after the student's own deadline.

        The student's side only tells the student at once; the deadline is kept
        where submissions are collected, which trusts no time the student's
        process wrote. When the deadline cannot be learnt (the service does not
        answer), the submission goes in, and collect decides.
        """
        from nbgrader.utils import get_username

        student = self.coursedir.student_id if self.coursedir.student_id != "*" else get_username()
        try:
            info = frister.own_deadline(self.coursedir.assignment_id, student, self.coursedir.root, self.config)
        except frister.DeadlineError as error:
            self.log.warning("Fristene kunne ikke leses: %s", error)
            return
        except (OSError, ValueError, KeyError) as error:
            self.log.warning("Fristtjenesten svarte ikke (%s); innsamlingen sjekker fristen.", error)
            return
        message = frister.late_message(info) if info else None
        if message is None:
            return
        if info["regel"]["sen_innlevering"] == frister.REFUSE:
            self.log.fatal(message)
            raise LateError(message)
        self.log.warning(message)

    def one_malform(self, folder: str) -> None:
        try:
            hand_in_one_malform(folder, self.release_path)
        except MalformError as error:
            self.log.fatal(str(error))  # the command line shows the log; JupyterLab shows the exception
            raise

    def copy_files(self):
        self.init_release()
        submission_secret = secrets.token_hex(64)
        dest_path = os.path.join(self.inbound_path, self.assignment_filename)
        if self.add_random_string:
            cache_path = os.path.join(self.cache_path, self.assignment_filename.rsplit("+", 1)[0])
        else:
            cache_path = os.path.join(self.cache_path, self.assignment_filename)

        self.log.info("Source: {}".format(self.src_path))
        self.log.info("Destination: {}".format(dest_path))
        self.check_filename_diff()

        # 0700 and the student's; in inbound/'s group (setgid), like everything created in it.
        staging = tempfile.mkdtemp(prefix=".innlevering-", dir=self.inbound_path)
        try:
            work = os.path.join(staging, self.assignment_filename)
            # Written first: copytree ends by copying the source folder's mode, which drops the setgid
            # bit (the student is not in the grader's group), so a file made afterwards would get the
            # student's group. A rename keeps the file's group.
            extra = (("timestamp.txt", self.timestamp), ("submission_secret.txt", submission_secret))
            for name, text in extra:
                with open(os.path.join(staging, name), "w") as fh:
                    fh.write(text)
            self.do_copy(self.src_path, work)
            self.one_malform(work)
            for name, _ in extra:
                os.replace(os.path.join(staging, name), os.path.join(work, name))
            self.set_perms(work, fileperms=SUBMISSION_FILE_MODE, dirperms=SUBMISSION_DIR_MODE)
            os.rename(work, dest_path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

        # The student's own copy (in the home folder), as nbgrader keeps it: list and fetch_feedback read it.
        if not os.path.isdir(self.cache_path):
            os.makedirs(self.cache_path)
        self.do_copy(self.src_path, cache_path)
        self.one_malform(cache_path)
        with open(os.path.join(cache_path, "timestamp.txt"), "w") as fh:
            fh.write(self.timestamp)
        with open(os.path.join(cache_path, "submission_secret.txt"), "w") as fh:
            fh.write(submission_secret)

        self.log.info("Submitted as: {} {} {}".format(
            self.coursedir.course_id, self.coursedir.assignment_id, str(self.timestamp)))
