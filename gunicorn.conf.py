"""gunicorn as LoveMart runs in production (`make run`) and in `make bench`.

Threaded workers keep connections alive and overlap a request's wait for the disk (SQLite's fsync at
commit) with another's Python work. No worker opens a database connection before the fork: the app
connects lazily, per worker.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"
