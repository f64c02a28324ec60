"""Celery tasks of the supplies app: each calls a service and returns its summary line.

(The ordering link's codes are looked up, texted and purged by residents.tasks: the code
check lives in residents, shared with the household's own link.)"""
