"""Real error texts of the kinds a failed trial stores: Ray's OOM kills, a SQLAlchemy error."""

from __future__ import annotations

# Ray's OOM kill as an actor call raises it (Ray 2.x), traceback included; the help text comes last.
RAY_OOM = """\
Traceback (most recent call last):
  File "/home/u/sweeps/engine/ray_backend.py", line 264, in _call
    return ray.get(ref, timeout=None)
  File "/home/u/.venv/lib/python3.11/site-packages/ray/_private/worker.py", line 2523, in get
    raise value
ray.exceptions.OutOfMemoryError: Task was killed due to the node running low on memory.
Memory on the node (IP: 192.168.0.107, ID: fc2befb2867ce88e73a8a45572c43a640751ae1f2b5e15bd8315f293) \
where the task (actor ID: f9cc340f5aef7b479d86345001000000, name=Trial.__init__, pid=4331, memory used=2.22GB) \
was running was 59.49GB / 62.58GB (0.950744), which exceeds the memory usage threshold of 0.95. Ray killed \
this worker (ID: d98ac96cdd66ea8c0a2604609381c3256c8285b87822896c767f7714) because it was the most recently \
scheduled task; to see more information about memory usage on this node, use `ray logs raylet.out -ip \
192.168.0.107`. To see the logs of the worker, use `ray logs worker-d98ac96c*out -ip 192.168.0.107. Top 10 \
memory users:
PID\tMEM(GB)\tCOMMAND
4331\t2.22\tray::Trial.__init__
4102\t1.05\tray::IDLE
Refer to the documentation on how to address the out of memory issue: \
https://docs.ray.io/en/latest/ray-core/scheduling/ray-oom-prevention.html. Consider provisioning more memory \
on this node or reducing task parallelism by requesting more CPUs per task. To adjust the kill threshold, set \
the environment variable `RAY_memory_usage_threshold` when starting Ray. To disable worker killing, set the \
environment variable `RAY_memory_monitor_refresh_ms` to zero.
"""

# Ray 2.60's raylet words the figures as "used / limit" (its format string, filled in).
RAY_OOM_NEW = """\
The actor died unexpectedly before finishing this task.
\tclass_name: Trial
\tactor_id: 5e1b9e4d2a6c0f1e8b3a7d0001000000
\tpid: 4331
The actor is dead because its worker process has died. Worker exit type: NODE_OUT_OF_MEMORY Worker exit \
detail: 1 worker(s) were killed due to the node running low on memory. \
Memory on the node (IP: 10.0.0.5, ID: 8289f87b78d161ae21bf723c7c57838345a56248dd48a2c3f0d5ac73) was 30.12GB \
used / 31.00GB limit (0.971613)
OOM kill reason: memory usage above threshold
Refer to the documentation on how to address the out of memory issue: \
https://docs.ray.io/en/latest/ray-observability/user-guides/debug-apps/debug-memory.html. Consider \
provisioning more memory on this node or reducing task parallelism by requesting more CPUs per task.
"""

# A trial's traceback of a SQLAlchemy error: the exception line, a hint, then the Background link.
SQLALCHEMY = """\
Traceback (most recent call last):
  File "/home/u/objective.py", line 14, in objective
    conn.execute(text("SELECT * FROM features"))
  File "/home/u/.venv/lib/python3.11/site-packages/sqlalchemy/engine/default.py", line 951, in do_execute
    cursor.execute(statement, parameters)
sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: connection to server at \
"10.0.0.9", port 5432 failed: Connection refused
\tIs the server running on that host and accepting TCP/IP connections?
(Background on this error at: https://sqlalche.me/e/20/e3q8)
"""
