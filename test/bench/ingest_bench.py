#!/usr/bin/env python3
"""Ingest of meter readings over gRPC (make bench): a gateway's backlog of
200,000 readings (50 meters x 4,000 readings, every 15 minutes) streamed
with StreamReadings in batches of 10,000, against plantd with a real store;
side by side in the same run, 5,000 readings one RecordReading call each.
Target: >= 200,000 readings/s streamed. Writes JSON to --out."""
import argparse
import atexit
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

parser = argparse.ArgumentParser()
parser.add_argument("--plantd", required=True)
parser.add_argument("--proto-dir", required=True)
parser.add_argument("--config", required=True)
parser.add_argument("--out", required=True)
ARGS = parser.parse_args()
# The example's device ports are fixed: fresh ones, nothing else's plant.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from free_ports import free_port_config  # noqa: E402

ARGS.config = free_port_config(ARGS.config)
atexit.register(os.remove, ARGS.config)

METERS, PER_METER, BATCH = 50, 4000, 200  # BATCH readings per meter in a message
SINGLE = 5000
TARGET = 200_000


def main():
    with tempfile.TemporaryDirectory() as tmp:
        gen = os.path.join(tmp, "gen")
        os.makedirs(gen)
        files = [os.path.join(ARGS.proto_dir, "plantd/v1", f)
                 for f in os.listdir(os.path.join(ARGS.proto_dir, "plantd/v1")) if f.endswith(".proto")]
        if protoc.main(["protoc", f"-I{ARGS.proto_dir}", "-I/usr/include", f"--python_out={gen}",
                        f"--grpc_python_out={gen}", *files]) != 0:
            sys.exit("protoc failed")
        sys.path.insert(0, gen)
        from plantd.v1 import energy_pb2 as pb, energy_pb2_grpc as pbg
        proc = subprocess.Popen([ARGS.plantd, "--config", ARGS.config, "--listen", "127.0.0.1:0",
                                 "--data-dir", os.path.join(tmp, "data"), "--log-level", "warn"],
                                stdout=subprocess.PIPE, text=True)
        try:
            m = re.search(r"listening on (\S+) and (\S+)", proc.stdout.readline())
            if not m:
                sys.exit("plantd did not start")
            ch = grpc.insecure_channel(m.group(1))
            grpc.channel_ready_future(ch).result(timeout=10)
            stub = pbg.EnergyCarbonServiceStub(ch)
            items = [pb.PutRequest(node=pb.Node(id="site", name="Site", kind="plant", metering_level=1))]
            for i in range(METERS + 1):
                items.append(pb.PutRequest(meter=pb.Meter(id=f"m{i}", name=f"m{i}", energy_type="electricity",
                                                          node="site", metering_level=1)))
                items.append(pb.PutRequest(indicator=pb.Indicator(id=f"m{i}.v", name="Reading",
                                                                  template_id="active_energy", owner=f"m{i}",
                                                                  source="meter")))
            stub.PutMany(pb.PutManyRequest(items=items), timeout=60)
            start = int(time.time()) - PER_METER * 900 - 3600
            batches = []
            for b in range(0, PER_METER, BATCH):
                rs = [pb.RecordReadingRequest(meter=f"m{i}", time={"seconds": start + k * 900}, counter=k * 10.0)
                      for k in range(b, b + BATCH) for i in range(METERS)]
                batches.append(pb.RecordReadingsRequest(readings=rs))
            t0 = time.perf_counter()
            r = stub.StreamReadings(iter(batches), timeout=600)
            streamed_s = time.perf_counter() - t0
            assert r.recorded == METERS * PER_METER and r.refused == 0, r
            # One call a reading, the same kind of backlog, on a meter of its own.
            t0 = time.perf_counter()
            for k in range(SINGLE):
                stub.RecordReading(pb.RecordReadingRequest(meter=f"m{METERS}", time={"seconds": start + k * 900},
                                                           counter=k * 10.0), timeout=30)
            single_s = time.perf_counter() - t0
            # Every reading counted: a meter's hours add up to its last counter.
            q = stub.Query(pb.QueryRequest(indicators=["m0.v"], resolution="hour",
                                           **{"from": time.strftime("%Y-%m-%d", time.localtime(start - 86400))},
                                           to=time.strftime("%Y-%m-%d", time.localtime(start + PER_METER * 900 + 86400))),
                           timeout=60)
            total = sum(v for v, qu in zip(q.series[0].values, q.series[0].quality) if qu != 4)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    streamed = METERS * PER_METER / streamed_s
    single = SINGLE / single_s
    out = {
        "streamed_readings": METERS * PER_METER,
        "streamed_readings_per_s": round(streamed),
        "single_call_readings_per_s": round(single),
        "ratio_streamed_to_single": round(streamed / single, 1),
        "hours_sum_kwh": round(total, 6),
        "expected_kwh": (PER_METER - 1) * 10.0,
        "target_readings_per_s": TARGET,
        "target_met": streamed >= TARGET,
    }
    with open(ARGS.out, "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))
    if abs(total - (PER_METER - 1) * 10.0) > 1e-6:
        sys.exit("the hours do not add up to the readings")


main()
