"""Start SkyCall: ``python main.py`` (or ``make run``). Settings come from SKYCALL_* variables."""

from skycall.app import main

if __name__ in {'__main__', '__mp_main__'}:
    main()
