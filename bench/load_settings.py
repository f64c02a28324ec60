"""Settings for bench/load.py --smoke only: production's, but static files found in place
instead of collected (collectstatic takes 20 s here, most of a smoke run). In production nginx
serves the static files, so no request the bench measures reads them."""

from wuyi.settings import *  # noqa: F403

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
WHITENOISE_USE_FINDERS = True
