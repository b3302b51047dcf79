#!/usr/bin/python3
"""plantd seen by an independent gRPC implementation (Python grpcio).

Starts plantd on an ephemeral port, then: lists its services by server
reflection, checks standard health, and calls PlantService with stubs
generated from proto/ alone -- what an integrator writing a client has.
"""
import argparse
import atexit
import os
import re
import subprocess
import sys
import tempfile
import unittest

import grpc
from grpc_tools import protoc

from free_ports import free_port_config

ARGS = None
GRPC_PROTO = "/usr/share/grpc-proto"


def generate_stubs(proto_dir, out_dir):
    import grpc_tools
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    includes = [f"-I{proto_dir}", f"-I{GRPC_PROTO}"]
    if os.path.isdir(well_known):
        includes.append(f"-I{well_known}")
    includes.append("-I/usr/include")
    files = [os.path.join(proto_dir, "plantd/v1/config.proto"),
             os.path.join(proto_dir, "plantd/v1/plant_service.proto"),
             os.path.join(proto_dir, "plantd/v1/control.proto"),
             os.path.join(GRPC_PROTO, "grpc/health/v1/health.proto"),
             os.path.join(GRPC_PROTO, "grpc/reflection/v1alpha/reflection.proto")]
    rc = protoc.main(["protoc", *includes, f"--python_out={out_dir}",
                      f"--grpc_python_out={out_dir}", *files])
    if rc != 0:
        raise RuntimeError(f"protoc failed with {rc}")
    sys.path.insert(0, out_dir)
    # grpc.health / grpc.reflection were generated under out_dir/grpc, beside
    # the installed grpc package: let that package find them.
    grpc.__path__.append(os.path.join(out_dir, "grpc"))


class PlantdFromPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        generate_stubs(ARGS.proto_dir, cls.tmp.name)
        cls.proc = subprocess.Popen(
            [ARGS.plantd, "--config", ARGS.config, "--listen", "127.0.0.1:0",
             "--data-dir", os.path.join(cls.tmp.name, "data"), "--log-level", "warn"],
            stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            cls.proc.kill()
            raise RuntimeError(f"plantd did not start: {line!r}")
        cls.channel = grpc.insecure_channel(m.group(1))
        grpc.channel_ready_future(cls.channel).result(timeout=30)  # a loaded machine

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.tmp.cleanup()

    def test_reflection_lists_services(self):
        from grpc.reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        req = reflection_pb2.ServerReflectionRequest(list_services="")
        responses = list(stub.ServerReflectionInfo(iter([req]), timeout=5))
        names = {s.name for s in responses[0].list_services_response.service}
        self.assertIn("plantd.v1.PlantService", names)
        self.assertIn("grpc.health.v1.Health", names)
        # The schema is discoverable too: a generic client can learn PlantConfig.
        req = reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="plantd.v1.PlantService")
        responses = list(stub.ServerReflectionInfo(iter([req]), timeout=5))
        protos = responses[0].file_descriptor_response.file_descriptor_proto
        self.assertTrue(protos, "no descriptor returned for plantd.v1.PlantService")

    def test_health_serving(self):
        from grpc.health.v1 import health_pb2, health_pb2_grpc
        stub = health_pb2_grpc.HealthStub(self.channel)
        resp = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        self.assertEqual(resp.status, health_pb2.HealthCheckResponse.SERVING)

    def test_get_config_matches_the_file(self):
        import json
        from plantd.v1 import plant_service_pb2, plant_service_pb2_grpc
        stub = plant_service_pb2_grpc.PlantServiceStub(self.channel)
        resp = stub.GetConfig(plant_service_pb2.GetConfigRequest(), timeout=5)
        with open(ARGS.config, encoding="utf-8") as f:
            expected = json.load(f)
        self.assertEqual(resp.config.site.name, expected["site"]["name"])
        self.assertEqual(resp.config.site.time_zone, expected["site"]["time_zone"])
        self.assertEqual([c.id for c in resp.config.cabinets],
                         [c["id"] for c in expected["cabinets"]])
        self.assertEqual(resp.version, 1)

    def test_validate_config_reports_field_paths(self):
        from plantd.v1 import plant_service_pb2, plant_service_pb2_grpc
        stub = plant_service_pb2_grpc.PlantServiceStub(self.channel)
        resp = stub.ValidateConfig(
            plant_service_pb2.ValidateConfigRequest(
                config_json='{"site": {"name": "x", "time_zone": "Nowhere/City"}}'),
            timeout=5)
        self.assertFalse(resp.valid)
        paths = {p.field_path for p in resp.problems}
        self.assertIn("site.time_zone", paths)
        self.assertIn("cabinets", paths)

    def test_empty_validate_is_invalid_argument(self):
        from plantd.v1 import plant_service_pb2, plant_service_pb2_grpc
        stub = plant_service_pb2_grpc.PlantServiceStub(self.channel)
        with self.assertRaises(grpc.RpcError) as err:
            stub.ValidateConfig(plant_service_pb2.ValidateConfigRequest(), timeout=5)
        self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


    def test_control_state_without_devices_is_safe(self):
        # No plant answers on the example's addresses: the I/O lines (with the
        # E-stop loop) and the grid meter are unreachable, so plantd holds the
        # plant stopped and says why.
        import time
        from plantd.v1 import control_pb2, control_pb2_grpc
        stub = control_pb2_grpc.ControlServiceStub(self.channel)
        deadline = time.time() + 10
        while True:
            try:
                state = stub.GetState(control_pb2.GetStateRequest(), timeout=5)
                break
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.UNAVAILABLE or time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.assertEqual(state.binding_rule, "safety")
        self.assertIn("I/O lines unavailable", state.explanation)
        self.assertFalse(state.grid_meter_available)
        self.assertEqual(state.grid_w.quality, control_pb2.QUALITY_STALE)
        self.assertEqual(len(state.cabinets), 1)
        stream = stub.StreamState(control_pb2.StreamStateRequest(), timeout=10)
        first = next(stream)
        second = next(stream)
        self.assertGreater(second.decisions, first.decisions)
        stream.cancel()

    def test_control_refuses_impossible_setpoints(self):
        from plantd.v1 import control_pb2, control_pb2_grpc
        stub = control_pb2_grpc.ControlServiceStub(self.channel)
        with self.assertRaises(grpc.RpcError) as err:
            stub.SetManualSetpoint(
                control_pb2.SetManualSetpointRequest(power_w=5e6, duration_s=60), timeout=5)
        self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("power_w", err.exception.details())
        from plantd.v1 import config_pb2
        bad = control_pb2.SetModeRequest(mode=config_pb2.WORKING_MODE_TIME_OF_USE)
        slot = bad.tou.slots.add()
        slot.start, slot.end, slot.action = "00:00", "12:00", config_pb2.SLOT_ACTION_IDLE
        with self.assertRaises(grpc.RpcError) as err:
            stub.SetMode(bad, timeout=5)
        self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("12:00-24:00 is not covered", err.exception.details())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--plantd", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--config", required=True)
    ARGS, rest = parser.parse_known_args()
    # The example's device ports are fixed: fresh ones, nothing else's plant.
    ARGS.config = free_port_config(ARGS.config)
    atexit.register(os.remove, ARGS.config)
    unittest.main(argv=[sys.argv[0], "-v", *rest])
