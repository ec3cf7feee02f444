"""Publishes metlog JSON the way metlog-py's ZmqPubSender did: a PUB socket
connecting to the router, one JSON string per message.

usage: zmq_pub.py ENDPOINT COUNT

PUB/SUB drops what is published before the subscription has reached the
publisher (the slow joiner), so it first publishes probe messages until a
line on stdin says one arrived, then COUNT numbered messages.
"""
import json
import os
import select
import socket
import sys
import time

import zmq


def message(type_, payload, fields):
    # The dict metlog-py's client builds, serialised as its JSON encoder does.
    now = time.time()
    return json.dumps({
        "severity": 6,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%06dZ" % int(now % 1 * 1e6),
        "metlog_hostname": socket.gethostname(),
        "fields": fields,
        "metlog_pid": os.getpid(),
        "logger": "zmq-app",
        "type": type_,
        "payload": payload,
        "env_version": "0.8",
    })


def main():
    endpoint, count = sys.argv[1], int(sys.argv[2])
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.connect(endpoint)
    while True:
        pub.send_string(message("probe", "", {}))
        ready, _, _ = select.select([sys.stdin], [], [], 0.05)
        if ready and sys.stdin.readline().strip() == "go":
            break
    for i in range(count):
        pub.send_string(message("counter", str(i), {"name": "zmq.sent", "rate": 1.0, "nested": {"héllo": [1, 2]}}))
    pub.close(linger=5000)
    ctx.term()


if __name__ == "__main__":
    main()
