#!/usr/bin/python3
"""plantctl device read against an independent Modbus server (pymodbus).

A pymodbus TCP server holds the register values a CHINT DTSU666 (unit 1,
holding registers) and an Eastron SDM630 (unit 2, input registers) would
send; `plantctl device read` must turn them into the right engineering
values through the shipped point tables.
"""
import argparse
import logging
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server import StartTcpServer

ARGS = None
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
logging.getLogger().setLevel(logging.CRITICAL)


def f32(x):
    hi, lo = struct.unpack(">HH", struct.pack(">f", x))
    return [hi, lo]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dtsu666_registers():
    regs = [0] * 0x4100
    regs[0x0006] = 1      # IrAt
    regs[0x0007] = 10     # UrAt = 1.0
    def put(addr, value):
        regs[addr:addr + 2] = f32(value)
    put(0x2006, 2309.0)   # 230.9 V (0.1 V)
    put(0x200C, 5250.0)   # 5.25 A (0.001 A)
    put(0x2012, 28500.0)  # 2850 W (0.1 W), import
    put(0x202A, 920.0)    # PF 0.92
    put(0x2044, 5001.5)   # 50.015 Hz
    put(0x401E, 5678.25)  # kWh import
    put(0x4028, 12.5)     # kWh export
    return regs


def sdm630_registers():
    regs = [0] * 0x100
    def put(addr, value):
        regs[addr:addr + 2] = f32(value)
    put(0x0000, 231.5)
    put(0x0006, 6.25)
    put(0x0034, -4200.0)  # exporting 4.2 kW
    put(0x0046, 49.98)
    put(0x0048, 100.0)    # kWh
    put(0x004A, 250.5)    # kWh
    return regs


class PlantctlReadsPymodbus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        dtsu = ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, dtsu666_registers()),
                                  zero_mode=True)
        sdm = ModbusSlaveContext(ir=ModbusSequentialDataBlock(0, sdm630_registers()),
                                 zero_mode=True)
        context = ModbusServerContext(slaves={1: dtsu, 2: sdm}, single=False)
        cls.port = free_port()
        thread = threading.Thread(
            target=StartTcpServer,
            kwargs={"context": context, "address": ("127.0.0.1", cls.port)},
            daemon=True)
        thread.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

    def read(self, table, unit):
        r = subprocess.run(
            [ARGS.plantctl, "--json", "device", "read", "--pointtable", table,
             "--tcp", f"127.0.0.1:{self.port}", "--unit", str(unit)],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        doc = json.loads(r.stdout)
        return {p["name"]: p.get("value") for p in doc["points"]}

    def test_dtsu666(self):
        v = self.read("chint-dtsu666", 1)
        self.assertAlmostEqual(v["voltage_l1"], 230.9, places=3)
        self.assertAlmostEqual(v["current_l1"], 5.25, places=4)
        self.assertAlmostEqual(v["active_power"], 2850.0, places=2)
        self.assertAlmostEqual(v["power_factor"], 0.92, places=4)
        self.assertAlmostEqual(v["frequency"], 50.015, places=3)
        self.assertAlmostEqual(v["import_energy"], 5678250.0, places=0)
        self.assertAlmostEqual(v["export_energy"], 12500.0, places=1)
        self.assertAlmostEqual(v["pt_ratio"], 1.0)

    def test_sdm630(self):
        v = self.read("eastron-sdm630", 2)
        self.assertAlmostEqual(v["voltage_l1"], 231.5, places=3)
        self.assertAlmostEqual(v["current_l1"], 6.25, places=4)
        self.assertAlmostEqual(v["active_power"], -4200.0, places=2)
        self.assertAlmostEqual(v["frequency"], 49.98, places=3)
        self.assertAlmostEqual(v["import_energy"], 100000.0, places=0)
        self.assertAlmostEqual(v["export_energy"], 250500.0, places=0)

    def test_wrong_unit_is_a_clear_failure(self):
        r = subprocess.run(
            [ARGS.plantctl, "--timeout", "0.5", "device", "read", "--pointtable",
             "chint-dtsu666", "--tcp", f"127.0.0.1:{self.port}", "--unit", "9"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("did not answer", r.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--plantctl", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])
