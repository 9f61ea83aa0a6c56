"""Release of exercises and of feedback, keeping the exchange's modes (the grader's side)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.utils import check_mode

from course.malform import SOURCE_DIR, nynorsk_file

from .layout import (COURSE_MODE, FEEDBACK_FILE_MODE, FEEDBACK_MODE, INBOUND_MODE, OUTBOUND_MODE, ROOT_MODE,
                     others_can_write)


class SecureExchangeReleaseAssignment(ExchangeReleaseAssignment):
    """Release, after checking (and where the grader owns it, fixing) the exchange's layout."""

    def ensure_root(self):
        """The root must exist and be sticky if others can write to it; nbgrader would chmod it to 0777."""
        root = self.root
        if not os.path.exists(root):
            # One machine, first release: the user makes it (a class server's is made by prepare_exchange).
            self.log.warning("Lager utvekslingsmappen %s", root)
            try:
                os.makedirs(root)
                os.chmod(root, ROOT_MODE)
            except PermissionError:
                self.fail(f"Kunne ikke lage utvekslingsmappen {root}: ingen tilgang. "
                          "Be administratoren sette den opp (python -m course.exchange).")
            return
        st = os.stat(root)
        if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
            if st.st_uid == os.geteuid():
                os.chmod(root, stat.S_IMODE(st.st_mode) | stat.S_ISVTX)
                self.log.warning("La til sticky-biten på utvekslingsmappen %s", root)
            else:
                self.fail(f"Alle kan gi nytt navn til eller slette kursmappene i {root} (mappen mangler "
                          "sticky-biten). Be administratoren sette opp utvekslingsmappen med "
                          f"python -m course.exchange {root} {self.coursedir.course_id} RETTER.")
        if not check_mode(root, write=True, execute=True):
            self.fail(f"Du kan ikke skrive til utvekslingsmappen {root}. Be administratoren sette den opp "
                      "med python -m course.exchange.")

    def init_src(self):
        """nbgrader's, and then: an exercise with a nynorsk source is released in both målformer, or not at all.

        ``nbgrader generate_assignment --force`` alone removes the nynorsk student
        version (it empties the release folder); ``course generate`` makes both.
        """
        super().init_src()
        nynorsk = Path(self.coursedir.root) / SOURCE_DIR / self.coursedir.assignment_id
        for source in sorted(nynorsk.glob("*.ipynb")):
            released = Path(self.src_path) / nynorsk_file(source.name)
            if not released.is_file():
                self.fail(f"Nynorskversjonen av {self.coursedir.assignment_id} mangler i {self.src_path} "
                          f"({released.name}). Lag studentversjonene med `course generate "
                          f"{self.coursedir.assignment_id}` (ikke bare nbgrader generate_assignment), og legg ut på nytt.")

    def init_dest(self):
        course_path = os.path.join(self.root, self.coursedir.course_id)
        if self.coursedir.course_id and os.path.lexists(course_path):
            st = os.lstat(course_path)
            if not stat.S_ISDIR(st.st_mode) or (st.st_uid != os.geteuid() and not self.coursedir.groupshared):
                self.fail(f"Kursmappen {course_path} eies ikke av deg. Den kan være laget av noen andre; be "
                          "administratoren sjekke den og sette opp utvekslingsmappen med python -m course.exchange.")
        super().init_dest()
        me = os.geteuid()
        expected = {
            self.course_path: COURSE_MODE,
            self.outbound_path: OUTBOUND_MODE,
            self.inbound_path: INBOUND_MODE | (stat.S_IRGRP if self.coursedir.groupshared else 0),
        }
        feedback = os.path.join(self.course_path, "feedback")
        if os.path.isdir(feedback):
            expected[feedback] = FEEDBACK_MODE
        for path, mode in expected.items():
            st = os.lstat(path)
            if self.coursedir.groupshared:
                mode |= stat.S_IMODE(st.st_mode) & (stat.S_ISGID | stat.S_IRWXG)
            if stat.S_IMODE(st.st_mode) == mode:
                continue
            if st.st_uid != me:
                if others_can_write(st) and not (st.st_mode & stat.S_ISVTX):
                    self.fail(f"{path} har feil tilganger ({oct(stat.S_IMODE(st.st_mode))}, skal være "
                              f"{oct(mode)}). Be administratoren kjøre python -m course.exchange.")
                continue
            os.chmod(path, mode)
            self.log.info("Tilganger for %s satt til %s", path, oct(mode))


class SecureExchangeReleaseFeedback(ExchangeReleaseFeedback):
    """Release feedback into a folder nobody else can list (0711), each file readable by name (0644)."""

    def init_dest(self):
        super().init_dest()
        path = self.outbound_feedback_path
        st = os.lstat(path)
        if not self.coursedir.groupshared and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != FEEDBACK_MODE:
            os.chmod(path, FEEDBACK_MODE)

    def copy_files(self):
        super().copy_files()
        me = os.geteuid()
        with os.scandir(self.dest_path) as entries:
            for entry in entries:
                if entry.name.endswith(".html") and entry.is_file(follow_symlinks=False) \
                        and entry.stat(follow_symlinks=False).st_uid == me:
                    os.chmod(entry.path, FEEDBACK_FILE_MODE)
