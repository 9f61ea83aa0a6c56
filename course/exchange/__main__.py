"""``python -m course.exchange MAPPE KURS RETTER``: an administrator sets up the exchange."""

from .layout import main

raise SystemExit(main())
