"""Gunicorn's settings, read from the working directory (README, Production).

The access log (off unless --access-logfile is given) goes through wuyi.logfilters, which
redacts secret query parameters: the SMS receipt URLs carry ?token=….
"""

logger_class = "wuyi.logfilters.GunicornLogger"
