#!/usr/bin/env python3
"""Fills the @NAME@ placeholders of haproxy.cfg or nginx.conf for a fixed replica list.

    render.py haproxy --listen 127.0.0.1:8080 --server 127.0.0.1:50051 --server ... > haproxy.cfg
    render.py nginx --listen 127.0.0.1:8081 --run-dir /tmp/nginx --server ... > nginx.conf

The Helm chart's router fills the same haproxy.cfg with a DNS `server-template` instead.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def render(kind, listen, servers, stream_timeout="1h", run_dir="/tmp"):
    """The config text; raises ValueError for an unfilled placeholder or no servers."""
    if not servers:
        raise ValueError("at least one --server is needed")
    if kind == "haproxy":
        path = os.path.join(HERE, "haproxy.cfg")
        lines = ["  server r%d %s" % (i, s) for i, s in enumerate(servers)]
        values = {"BIND": listen, "SERVERS": "\n".join(lines), "SECTIONS": ""}
    elif kind == "nginx":
        path = os.path.join(HERE, "nginx.conf")
        lines = ["    server %s max_fails=1 fail_timeout=10s;" % s for s in servers]
        values = {"LISTEN": listen, "SERVERS": "\n".join(lines), "RUN_DIR": run_dir}
    else:
        raise ValueError("kind must be haproxy or nginx, not %r" % kind)
    values["STREAM_TIMEOUT"] = stream_timeout
    with open(path) as f:
        text = f.read()
    # Placeholders are only filled outside comments, so the documentation stays as is.
    out = []
    for line in text.splitlines(True):
        if not line.lstrip().startswith("#"):
            for name, value in values.items():
                line = line.replace("@%s@" % name, value)
            left = re.search(r"@[A-Z_]+@", line)
            if left:
                raise ValueError("%s: placeholder %s has no value" % (path, left.group(0)))
        out.append(line)
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["haproxy", "nginx"])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--server", action="append", default=[], help="host:port, repeated")
    parser.add_argument("--stream-timeout", default="1h")
    parser.add_argument("--run-dir", default="/tmp")
    args = parser.parse_args()
    try:
        sys.stdout.write(render(args.kind, args.listen, args.server, args.stream_timeout,
                                args.run_dir))
    except ValueError as e:
        sys.exit("render: %s" % e)


if __name__ == "__main__":
    main()
