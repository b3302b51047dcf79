"""An example plant config with every device on a free loopback port.

plantd reaches its cabinets, RS485 gateways and I/O gateway at the ports
the config names. The examples name fixed ones (15001, ...): a test run
beside `make run`, or beside another test's simulated plant, would poll and
command that plant. Each port here is one the system has just handed out
and that nothing listens on: the devices are silent, as the tests expect.
"""

import json
import os
import socket
import tempfile


def _unused_port(taken):
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:  # each port once: a port just released may come back
            taken.add(port)
            return port


def free_port_config(example, directory=None):
    """Writes the example with fresh device ports; returns the file's path."""
    with open(example, encoding="utf-8") as f:
        config = json.load(f)
    taken = set()
    for cabinet in config.get("cabinets", []):
        cabinet["modbus"]["port"] = _unused_port(taken)
    for line in config.get("rs485_lines", []):
        if "tcp_gateway" in line:
            line["tcp_gateway"]["port"] = _unused_port(taken)
    gateway = config.get("io", {}).get("modbus_gateway")
    if gateway is not None:
        gateway["port"] = _unused_port(taken)
    fd, path = tempfile.mkstemp(prefix="plantd-config-", suffix=".json", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    return path
