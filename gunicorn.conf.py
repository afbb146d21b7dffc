"""gunicorn as LoveMart runs in production (`make run`) and in `make bench`.

Threaded workers keep connections alive and overlap a request's wait for the disk (SQLite's fsync at
commit) with another's Python work. The app is imported once, in the master, before the workers fork: a
worker is ready the moment it starts (importing takes about 2 s, which a first request would otherwise
wait for) and shares the imported code's memory. No database connection is opened before the fork: the
app connects lazily, per worker.
"""

import os

from lovemart import logs

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "2"))
keepalive = 5
preload_app = True
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"

# The access log prints every request line: a villager's card link carries the household's credential.
logs.install()
