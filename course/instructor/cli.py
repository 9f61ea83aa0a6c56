"""The ``course`` command: check the course, grade an exercise, report and export grades (Norwegian output)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .common import CourseError, find_root


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "bruk: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with Norwegian headings and messages for the errors a user meets most often."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "argumenter"
        self._optionals.title = "valg"

    def error(self, message: str) -> None:
        message = (message.replace("the following arguments are required", "disse argumentene mangler")
                   .replace("invalid choice", "ukjent valg").replace("unrecognized arguments", "ukjente argumenter")
                   .replace("choose from", "velg blant").replace("expected one argument", "trenger en verdi"))
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: feil: {message}\n")


def _exercises_argument(parser: argparse.ArgumentParser) -> None:
    """The optional list of exercises (`course check`, `course generate`); main() checks each name."""
    parser.add_argument("oppgaver", nargs="*", metavar="OPPGAVE", help="bare disse oppgavene (standard: alle i solutions/)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="course",
        description="Verktøy for faglæreren i kurset Samskaping og velferdsledelse, bygd på nbgrader.",
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    parser.add_argument("--kurs", type=Path, metavar="MAPPE",
                        help="kursmappen (med nbgrader_config.py og solutions/); standard: mappen du står i, eller en over den")
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO", parser_class=_Parser)
    sub.required = True

    check = sub.add_parser("check", add_help=False, help="sjekk at hele kurset henger sammen",
                           description="Sjekker hver oppgave: exercises/ genereres uten forskjeller fra solutions/, "
                                       "løsningen består testene, en blank oppgave feiler dem, poengene stemmer "
                                       "med innledningen, og ingen løsninger når studentene.")
    check.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    _exercises_argument(check)

    generate = sub.add_parser("generate", add_help=False, help="lag studentversjonene i exercises/ (bokmål og nynorsk)",
                              description="Lager studentversjonene av oppgavene med nbgrader: exercises/OPPGAVE/OPPGAVE.ipynb "
                                          "fra solutions/ og exercises/OPPGAVE/OPPGAVE_nynorsk.ipynb fra "
                                          "solutions_nynorsk/. Rediger aldri exercises/ for hånd.")
    generate.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    _exercises_argument(generate)

    grade = sub.add_parser("grade", add_help=False, help="samle inn, rett og lag tilbakemeldinger for en oppgave",
                           description="Samler inn innleveringene (fra utvekslingsmappen, eller fra en zip-fil "
                                       "lastet ned fra læringsplattformen), retter dem automatisk, ser etter endrede "
                                       "låste celler, lager tilbakemeldinger og skriver en rapport.")
    grade.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    grade.add_argument("oppgave", metavar="OPPGAVE", help="oppgaven som skal rettes, for eksempel oppgave_01")
    grade.add_argument("--zip", type=Path, metavar="FIL",
                       help="zip-fil med innleveringene fra læringsplattformen (for eksempel Canvas); "
                            "uten denne hentes innleveringene fra nbgraders utvekslingsmappe")
    grade.add_argument("--arbeidere", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="hvor mange innleveringer som rettes samtidig (standard: antall prosessorkjerner, "
                            f"{os.cpu_count() or 1} på denne maskinen)")
    grade.add_argument("--uten-fremdrift", action="store_true", help="ikke vis fremdriftslinjen")

    deadlines = sub.add_parser("frister", add_help=False, help="sjekk fristfilen og vis fristene for emnet",
                               description="Sjekker fristfilen (frister.csv i kursmappen): fristen for hver oppgave "
                                           "og de forlengede fristene, og viser planen. Feil navngis med "
                                           "linjenummer. En ny frist som allerede er passert, må godtas med "
                                           "--godta-passerte.")
    deadlines.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    deadlines.add_argument("--godta-passerte", action="store_true",
                           help="godta frister som allerede er passert (for eksempel en forlengelse gitt i ettertid)")

    report = sub.add_parser("report", add_help=False, help="poengfordeling, analyse per celle og eksport av karakterer",
                            description="Lager tabeller og figurer over poengene i hver oppgave og hver celle, og "
                                        "eksporterer karakterene som CSV for læringsplattformen.")
    report.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    report.add_argument("--mappe", type=Path, default=Path("rapport"), metavar="MAPPE",
                        help="hvor tabellene og figurene lagres (standard: rapport/ i kursmappen)")
    report.add_argument("--csv", type=Path, default=Path("karakterer.csv"), metavar="FIL",
                        help="hvor karakterene eksporteres (standard: karakterer.csv i kursmappen)")
    report.add_argument("--uten-navn", action="store_true", help="ta ikke med navn og e-post i CSV-filen")
    report.add_argument("--pseudonymiser", action="store_true",
                        help="bytt studentnummeret med et fast pseudonym og ta ikke med navn og e-post")

    canvas = sub.add_parser("canvas", add_help=False, help="send poengsummene for en oppgave til Canvas",
                            description="Sender hver students poengsum for oppgaven til karakterkolonnen i "
                                        "Canvas-emnet (LTI Assignment and Grade Services), med innleveringstid og en "
                                        "kort kommentar. Kolonnen lages første gang. Det som er sendt før og ikke "
                                        "er endret, sendes ikke igjen, så kommandoen kan kjøres etter hver retting.")
    canvas.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    canvas.add_argument("oppgave", metavar="OPPGAVE", help="oppgaven, for eksempel oppgave_01")
    canvas.add_argument("--prov", action="store_true", help="vis hva som ville blitt sendt, uten å sende noe")
    canvas.add_argument("--uten-manuell-retting", action="store_true",
                        help="send den automatiske poengsummen nå også for innleveringer med svar som rettes for "
                             "hånd (merket som foreløpig i Canvas); uten dette venter de til de er rettet")
    canvas.add_argument("--navn", metavar="TEKST", help="navnet på karakterkolonnen i Canvas (standard: oppgavens navn)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        root = find_root(args.kurs)
        if getattr(args, "oppgaver", None):
            from .common import check_assignment

            for assignment in args.oppgaver:
                check_assignment(root, assignment)
        if args.command == "check":
            from .check import format_results, run_check

            results = run_check(root, args.oppgaver or None)
            print(format_results(results))
            return 0 if all(r.ok for r in results) else 1
        if args.command == "generate":
            from .common import assignments
            from .malform import generate_all

            for line in generate_all(root, args.oppgaver or assignments(root)):
                print(line)
            return 0
        if args.command == "grade":
            from .grade import format_report, grade

            if args.arbeidere < 1:
                raise CourseError("--arbeidere må være 1 eller mer.")
            start = time.monotonic()
            result = grade(root, args.oppgave, archive=args.zip, workers=args.arbeidere,
                           show_progress=not args.uten_fremdrift)
            print(format_report(result))
            print(f"Tid brukt: {time.monotonic() - start:.0f} sekunder.")
            return 0 if result.ok else 1
        if args.command == "frister":
            from .frister import run

            print(run(root, accept_past=args.godta_passerte))
            return 0
        if args.command == "canvas":
            from . import lti

            try:
                context = lti.Context.load(root)
                scores = lti.gradebook_scores(root, args.oppgave)
                outcome = lti.post_scores(
                    context, args.oppgave, args.navn or args.oppgave, scores, course_dir=root,
                    after_manual=not args.uten_manuell_retting,
                    dry_run=args.prov, log=print)
            except lti.LtiError as error:
                raise CourseError(str(error)) from None
            print(lti.format_outcome(outcome, args.oppgave))
            return 1 if outcome.failed else 0
        if args.command == "report":
            from .report import run_report

            folder = args.mappe if args.mappe.is_absolute() else root / args.mappe
            csv_path = args.csv if args.csv.is_absolute() else root / args.csv
            print(run_report(root, folder, csv_path, names=not args.uten_navn, pseudonymise=args.pseudonymiser))
            return 0
    except CourseError as error:
        print(f"Feil: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
