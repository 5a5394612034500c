"""nginx in front of several Rasa servers and several action servers (the production profile).

SPEC §6: Rasa's socket.io channel cannot run several Sanic workers, so the bot scales out as
several Rasa processes sharing the SQL tracker store and a Redis lock store, behind a load
balancer that keeps each socket.io session on one server. `python -m bot serve --replicas 2`
(bot/ops/stack.py) starts that on one machine with Debian's nginx, which listens where a single Rasa
server and a single action server would (5005 and 5055 by default):

- the Rasa port: `/socket.io/` sticky by client address (the website's proxy puts the browser's
  address in X-Forwarded-For, bot/apps/web/proxy.py; long polling needs every request of a session
  on the server that opened it), everything else (the REST channel) to the next server in turn;
- the action port: round robin over the action servers, which share nothing but the database
  and the spool (bot/db/spool.py, exactly-once by dedup key).

A request is passed to the other server only when the first refused the connection (nginx does
not resend a POST it already sent), so a message is never handled twice; a server that refuses
is left out for a few seconds. nginx writes no access log and, for the socket path, no request
lines (they carry session ids).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

# Debian's package (apt-get install nginx-light): scripts/ensure-nginx.sh
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# A server that refused a connection is skipped for this long before it is tried again.
FAIL_TIMEOUT_S = 3


def nginx_binary() -> str | None:
    """The nginx executable, or None when it is not installed."""
    for path in NGINX_PATHS:
        if Path(path).is_file():
            return path
    return shutil.which("nginx")


def _servers(host: str, ports: Sequence[int]) -> str:
    return "\n".join(
        f"    server {host}:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT_S}s;" for port in ports
    )


def nginx_config(
    directory: Path,
    host: str,
    rasa_port: int,
    rasa_backends: Sequence[int],
    action_port: int,
    action_backends: Sequence[int],
) -> str:
    """nginx.conf for the balancer, its pid file, error log and buffers under `directory`."""
    if not rasa_backends or not action_backends:
        raise ValueError("the balancer needs at least one Rasa server and one action server")
    d = directory
    return f"""# written by bot/ops/balancer.py for this run; see its docstring
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr error;
events {{
  worker_connections 2048;
}}
http {{
  access_log off;
  server_tokens off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  # Rasa's own limit is 1 MB (SANIC_REQUEST_MAX_SIZE); chat messages are tiny
  client_max_body_size 1m;
  # kept in memory: nothing a message carries is written to disk by nginx
  client_body_buffer_size 1m;
  proxy_max_temp_file_size 0;
  proxy_http_version 1.1;
  proxy_connect_timeout 2s;
  # only a refused or failed connection moves a request on: a POST once sent is never resent
  proxy_next_upstream error;
  proxy_next_upstream_tries 2;

  map $http_upgrade $connection_upgrade {{
    default upgrade;
    '' '';
  }}

  upstream rasa {{
{_servers(host, rasa_backends)}
    keepalive 32;
  }}
  # socket.io: one session, one server (the browser's address, from the website's proxy)
  upstream rasa_socket {{
    hash $http_x_forwarded_for consistent;
{_servers(host, rasa_backends)}
  }}
  upstream actions {{
{_servers(host, action_backends)}
    keepalive 16;
  }}

  server {{
    listen {host}:{rasa_port};
    location /socket.io/ {{
      error_log stderr crit;
      proxy_pass http://rasa_socket;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $http_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }}
    location / {{
      proxy_pass http://rasa;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $http_x_forwarded_for;
      proxy_read_timeout 120s;
    }}
  }}
  server {{
    listen {host}:{action_port};
    location / {{
      proxy_pass http://actions;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_read_timeout 120s;
    }}
  }}
}}
"""


def nginx_command(config: Path) -> list[str]:
    """nginx in the foreground on `config` (written by write_nginx_config), logging to stderr."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed: run scripts/ensure-nginx.sh")
    return [
        binary,
        "-p",
        str(config.parent),
        "-c",
        str(config),
        "-e",
        "stderr",
        "-g",
        "daemon off;",
    ]


def write_nginx_config(directory: Path, **ports: object) -> Path:
    """The config file (owner-only, with its temp folders) in `directory`; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / name).mkdir(exist_ok=True)
    path = directory / "nginx.conf"
    path.touch(mode=0o600)
    path.write_text(nginx_config(directory, **ports), encoding="utf-8")  # type: ignore[arg-type]
    return path
