#!/usr/bin/python3
"""EnergyCarbonService from an independent client (Python grpcio).

Builds the platform's example enterprise through gRPC with stubs generated
from proto/ alone -- purchased electricity, water and natural gas at plant
level; branch factory 1 on electricity and water; a boiler room on natural
gas, water and electricity; equipment meters below them -- feeds hourly
counter readings and daily entries, and checks tce, tCO2 and cost against
hand computation; formulas with cycles, unknown references and mismatched
units are rejected; a back-dated entry propagates; counter rollover and a
meter swap; delete-in-use refused; the .xlsx report parses; everything
survives a restart. Changes are signed by the caller plantd authenticated:
the local socket ("local") or users logged in over TCP with a token.
"""
import argparse
import atexit
import datetime
import json
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
import zipfile
from zoneinfo import ZoneInfo

import grpc
from grpc_tools import protoc

from free_ports import free_port_config

ARGS = None
TZ = ZoneInfo("Asia/Shanghai")


def generate_stubs(proto_dir, out_dir):
    import grpc_tools
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    includes = [f"-I{proto_dir}", "-I/usr/include"]
    if os.path.isdir(well_known):
        includes.append(f"-I{well_known}")
    files = [os.path.join(proto_dir, f"plantd/v1/{f}.proto") for f in ("control", "config", "energy", "access")]
    if protoc.main(["protoc", *includes, f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *files]) != 0:
        raise RuntimeError("protoc failed")
    sys.path.insert(0, out_dir)


class Deadline(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Every call gets a deadline unless it has one: a call that hangs fails
    naming itself instead of holding the whole test until ctest's timeout."""

    def __init__(self, seconds):
        self.seconds = seconds

    def _details(self, d):
        if d.timeout is not None:
            return d
        return d._replace(timeout=self.seconds)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)


def with_deadline(channel):
    return grpc.intercept_channel(channel, Deadline(30))


def start_plantd(data_dir):
    proc = subprocess.Popen(
        [ARGS.plantd, "--config", ARGS.config, "--listen", "127.0.0.1:0",
         "--data-dir", data_dir, "--log-level", "warn"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on (\S+) and (\S+)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"plantd did not start: {line!r}")
    # Subchannels of its own: one shared with a channel to the plantd stopped
    # before (same socket path) may sit in that one's reconnect backoff.
    raw = grpc.insecure_channel(m.group(1), options=[("grpc.use_local_subchannel_pool", 1)])
    try:
        # Up to 30 s on a loaded machine (2 cores, a whole test run beside it);
        # a plantd that does not answer is not left running.
        grpc.channel_ready_future(raw).result(timeout=30)
    except grpc.FutureTimeoutError:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"plantd listening on {m.group(1)} did not answer within 30 s")
    channel = with_deadline(raw)
    channel.target_text = m.group(1)
    channel.tcp_target = m.group(2)
    return proc, channel


class AsUser:
    """A stub whose calls carry a user's session token."""

    def __init__(self, stub, token):
        self._stub, self._md = stub, (("authorization", "Bearer " + token),)

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        return lambda req, **kw: method(req, metadata=self._md, **kw)


def stop(proc):
    proc.terminate()
    assert proc.wait(timeout=20) == 0


class EnergyCarbon(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        generate_stubs(ARGS.proto_dir, cls.tmp.name)
        global pb, pbg
        from plantd.v1 import energy_pb2 as pb, energy_pb2_grpc as pbg
        cls.data = os.path.join(cls.tmp.name, "data")
        cls.proc, cls.channel = start_plantd(cls.data)
        cls.stub = pbg.EnergyCarbonServiceStub(cls.channel)
        # Energy managers: created on the unit's socket, logged in over TCP.
        from plantd.v1 import access_pb2 as apb, access_pb2_grpc as apbg
        local = apbg.AccessServiceStub(cls.channel)
        tcp = with_deadline(grpc.insecure_channel(cls.channel.tcp_target))
        login = apbg.AccessServiceStub(tcp)
        energy_tcp = pbg.EnergyCarbonServiceStub(tcp)
        cls.users = {}
        cls.tokens = {}
        for name in ("alice", "bob", "carol", "dave", "erin", "mallory"):
            local.CreateUser(apb.CreateUserRequest(username=name, password=name + "-secret-pw",
                                                   role=apb.ROLE_ENERGY_MANAGER))
            token = login.Login(apb.LoginRequest(username=name, password=name + "-secret-pw")).token
            cls.users[name] = AsUser(energy_tcp, token)
            cls.tokens[name] = token
        # The day computed: ten days ago in the enterprise's time zone.
        cls.day = datetime.datetime.now(TZ).date() - datetime.timedelta(days=10)
        cls.build_enterprise()

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)
        cls.tmp.cleanup()

    @classmethod
    def put(cls, **item):
        return cls.stub.Put(pb.PutRequest(**item))

    @classmethod
    def build_enterprise(cls):
        model = cls.stub.GetModel(pb.GetModelRequest())
        types = {t.id: t for t in model.energy_types}
        for tid, price in (("electricity", 0.8), ("water", 4.2), ("natural_gas", 3.5)):
            t = types[tid]
            del t.prices[:]  # electricity's seeded example tariff replaced
            t.prices.add(version="2026", flat=price, source="supply contract")
            cls.put(energy_type=t)
        N = pb.Node
        for n in (N(id="plant", name="Plant", kind="plant", metering_level=1),
                  N(id="b1", name="Branch factory 1", kind="branch", parent="plant", metering_level=2),
                  N(id="boiler", name="Boiler room", kind="workshop", parent="plant", metering_level=2),
                  N(id="press", name="Press line", kind="equipment", parent="b1", metering_level=3,
                    energy_type="electricity", rated_power_kw=250),
                  N(id="boiler1", name="Boiler 1", kind="equipment", parent="boiler", metering_level=3,
                    energy_type="natural_gas")):
            cls.put(node=n)
        meters = [("m_e0", "Incoming electricity", "electricity", "plant", 1, "active_energy"),
                  ("m_w0", "Incoming water", "water", "plant", 1, "water_flow"),
                  ("m_g0", "Incoming gas", "natural_gas", "plant", 1, "gas_flow"),
                  ("m_e1", "B1 electricity", "electricity", "b1", 2, "active_energy"),
                  ("m_w1", "B1 water", "water", "b1", 2, "water_flow"),
                  ("m_e2", "Boiler electricity", "electricity", "boiler", 2, "active_energy"),
                  ("m_w2", "Boiler water", "water", "boiler", 2, "water_flow"),
                  ("m_g2", "Boiler gas", "natural_gas", "boiler", 2, "gas_flow"),
                  ("m_e11", "Press electricity", "electricity", "press", 3, "active_energy"),
                  ("m_g21", "Boiler 1 gas", "natural_gas", "boiler1", 3, "gas_flow")]
        for mid, name, et, node, level, tpl in meters:
            cls.put(meter=pb.Meter(id=mid, name=name, energy_type=et, node=node, metering_level=level,
                                   counter_rollover=1e6 if mid == "m_g0" else 0))
            cls.put(indicator=pb.Indicator(id=f"{mid}.v", name="Reading", template_id=tpl, owner=mid,
                                           source="meter"))
        I = pb.Indicator
        for ind in (I(id="p.elec", name="Electricity", template_id="electricity_use", owner="plant",
                      formula="[Plant/Incoming electricity:Reading]"),
                    I(id="p.water", name="Water", template_id="water_use", owner="plant", formula="#m_w0.v"),
                    I(id="p.gas", name="Gas", template_id="gas_use", owner="plant", formula="#m_g0.v"),
                    I(id="p.tce", name="Standard coal", template_id="standard_coal", owner="plant",
                      formula="#p.elec * coal(electricity) + #p.water * coal(water) + #p.gas * coal(natural_gas)"),
                    I(id="p.co2", name="Carbon", template_id="carbon", owner="plant",
                      formula="#p.elec * co2(electricity) + #p.gas * co2(\"Natural gas\")"),
                    I(id="p.cost", name="Cost", template_id="cost", owner="plant",
                      formula="#p.elec * price(electricity) + #p.water * price(water) + #p.gas * price(natural_gas)"),
                    I(id="b1.elec", name="Electricity", template_id="electricity_use", owner="b1", source="manual")):
            cls.put(indicator=ind)
        # Hourly counters of the day: 100 kWh, 2 t, 10 m3 per hour; the gas
        # counter rolls over at 1,000,000 during the day.
        start = datetime.datetime.combine(cls.day, datetime.time(0), TZ)
        for h in range(25):
            t = start + datetime.timedelta(hours=h)
            for mid, base, step in (("m_e0", 5000, 100), ("m_w0", 10, 2), ("m_g0", 999_900, 10)):
                counter = (base + step * h) % 1_000_000
                cls.stub.RecordReading(pb.RecordReadingRequest(
                    meter=mid, time={"seconds": int(t.timestamp())}, counter=counter))

    def query(self, ids, res="day", frm=None, to=None):
        frm = frm or self.day.isoformat()
        r = self.stub.Query(pb.QueryRequest(indicators=ids, resolution=res, **{"from": frm}, to=to or frm))
        return {s.id: s for s in r.series}

    def record_hourly(self, meter, day, use):
        """Counter readings every hour of `day` (and 00:00 of the next): hour h uses use[h]."""
        start = datetime.datetime.combine(day, datetime.time(0), TZ)
        counter = 0
        for h in range(25):
            at = start + datetime.timedelta(hours=h)
            self.stub.RecordReading(pb.RecordReadingRequest(
                meter=meter, time={"seconds": int(at.timestamp())}, counter=counter))
            if h < 24:
                counter += use[h]

    def test_hand_computed_tce_co2_cost(self):
        s = self.query(["p.elec", "p.water", "p.gas", "p.tce", "p.co2", "p.cost"])
        MEASURED = 1
        self.assertAlmostEqual(s["p.elec"].values[0], 2400, places=6)
        self.assertEqual(s["p.elec"].quality[0], MEASURED)
        self.assertAlmostEqual(s["p.gas"].values[0], 240, places=6)  # across the rollover
        tce = (2400 * 0.1229 + 48 * 0.0857 + 240 * 1.2143) / 1000
        self.assertAlmostEqual(s["p.tce"].values[0], tce, places=9)
        self.assertEqual(s["p.tce"].unit, "tce")
        co2 = (2400 * 0.5306 + 240 * 1.974) / 1000  # 2023 national factor, latest published
        self.assertAlmostEqual(s["p.co2"].values[0], co2, places=9)
        self.assertIn("co2(electricity)", [v.what for v in s["p.co2"].versions])
        label = self.day.isoformat()
        for v in s["p.co2"].versions:  # the periods each version was used in
            self.assertEqual((v.first_period, v.last_period), (label, label))
        # An unknown indicator is answered in its own series; the others are computed.
        r = self.stub.Query(pb.QueryRequest(indicators=["p.tce", "nope"], resolution="day",
                                            **{"from": label}, to=label))
        self.assertEqual([x.id for x in r.series], ["p.tce", "nope"])  # in the order asked
        self.assertEqual(r.series[1].error, "no indicator nope")
        self.assertEqual(len(r.series[1].values), 0)
        self.assertEqual(r.series[0].error, "")
        self.assertEqual(len(r.series[0].values), 1)
        with self.assertRaises(grpc.RpcError) as cm:  # none known
            self.query(["nope"])
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        cost = 2400 * 0.8 + 48 * 4.2 + 240 * 3.5
        self.assertAlmostEqual(s["p.cost"].values[0], cost, places=6)
        # The day before has no readings: missing, not 0.
        prev = (self.day - datetime.timedelta(days=1)).isoformat()
        s = self.query(["p.tce"], frm=prev)
        self.assertEqual(s["p.tce"].quality[0], 4)  # QUALITY_MISSING
        # Hours: 24 values of 100 kWh.
        s = self.query(["p.elec"], res="hour")
        self.assertEqual(len(s["p.elec"].values), 24)
        self.assertTrue(all(abs(v - 100) < 1e-9 for v in s["p.elec"].values))

    def test_formulas_rejected_at_save(self):
        def fails(formula, tpl="standard_coal", iid="x"):
            with self.assertRaises(grpc.RpcError) as cm:
                self.put(indicator=pb.Indicator(id=iid, name="X", template_id=tpl, owner="boiler", formula=formula))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            return cm.exception.details()
        self.assertIn("at 1: unknown indicator #nope", fails("#nope * coal(electricity)"))
        self.assertIn("unit mismatch", fails("#m_e2.v + #m_w2.v", tpl="electricity_use"))
        self.assertIn("at 29: expected ')' to close the '(' at 11", fails("#p.elec * (coal(electricity)"))
        self.put(indicator=pb.Indicator(id="boiler.a", name="A", template_id="electricity_use",
                                        owner="boiler", formula="#m_e2.v"))
        self.put(indicator=pb.Indicator(id="b1.b", name="B", template_id="electricity_use",
                                        owner="b1", formula="#boiler.a"))
        msg = fails("#b1.b", tpl="electricity_use", iid="boiler.a")
        self.assertIn("cycle: [Plant/Boiler room:X] -> [Plant/Branch factory 1:B] -> [Plant/Boiler room:X]", msg)
        v = self.stub.ValidateFormula(pb.ValidateFormulaRequest(indicator=pb.Indicator(
            id="y", name="Y", template_id="standard_coal", owner="boiler", formula="#m_g2.v * coal(natural_gas) +")))
        self.assertFalse(v.valid)
        self.assertEqual(v.position, 30)  # the end of the formula
        # Requests beyond gRPC's default 4 MB are taken (a 100,000-node
        # import is about 11 MB): this one is answered, not refused.
        v = self.stub.ValidateFormula(pb.ValidateFormulaRequest(indicator=pb.Indicator(
            id="big", name="x" * (6 << 20), template_id="standard_coal", owner="boiler",
            formula="#no_such_indicator")))
        self.assertFalse(v.valid)
        self.assertIn("no_such_indicator", v.error)
        v = self.stub.ValidateFormula(pb.ValidateFormulaRequest(indicator=pb.Indicator(
            id="y", name="Y", template_id="standard_coal", owner="boiler",
            formula="[Plant/Boiler room/Boiler gas:Reading] * coal(\"Natural gas\")")))
        self.assertTrue(v.valid, v.error)
        self.assertEqual(v.canonical, "#m_g2.v * coal(natural_gas)")

    def test_get_update_with_a_mask_put_many_and_uses_as_records(self):
        from google.protobuf import field_mask_pb2
        gas = self.stub.Get(pb.GetRecordRequest(kind="energy_type", id="natural_gas")).energy_type
        self.assertEqual(gas.unit, "m3")
        self.assertGreater(len(gas.coal_equivalent), 0)
        # A rename through Update keeps the seeded coefficients (a Put of
        # {id, name, unit} would have cleared them).
        self.stub.Update(pb.UpdateRequest(record=pb.Record(energy_type=pb.EnergyType(id="natural_gas", name="天然气")),
                                          update_mask=field_mask_pb2.FieldMask(paths=["name"])))
        after = self.stub.Get(pb.GetRecordRequest(kind="energy_type", id="natural_gas")).energy_type
        self.assertEqual(after.name, "天然气")
        self.assertEqual(list(after.coal_equivalent), list(gas.coal_equivalent))
        self.assertEqual(list(after.prices), list(gas.prices))
        for paths, code, text in ((["nope"], grpc.StatusCode.INVALID_ARGUMENT, 'energy_type has no field "nope"'),
                                  (["id"], grpc.StatusCode.INVALID_ARGUMENT, "cannot change"),
                                  ([], grpc.StatusCode.INVALID_ARGUMENT, "name the fields")):
            with self.assertRaises(grpc.RpcError) as cm:
                self.stub.Update(pb.UpdateRequest(record=pb.Record(energy_type=pb.EnergyType(id="natural_gas")),
                                                  update_mask=field_mask_pb2.FieldMask(paths=paths)))
            self.assertEqual(cm.exception.code(), code)
            self.assertIn(text, cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Update(pb.UpdateRequest(record=pb.Record(node=pb.Node(id="nowhere", name="X")),
                                              update_mask=field_mask_pb2.FieldMask(paths=["name"])))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Get(pb.GetRecordRequest(kind="node", id="nowhere"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        # Several records in one call, all or nothing.
        unit = pb.PutRequest(node=pb.Node(id="paint", name="Paint shop", kind="workshop", parent="plant",
                                          metering_level=2))
        meter = pb.PutRequest(meter=pb.Meter(id="m_paint", name="Paint gas", energy_type="natural_gas", node="paint",
                                             metering_level=2))
        reading = pb.PutRequest(indicator=pb.Indicator(id="m_paint.v", name="Reading", template_id="gas_flow",
                                                       owner="m_paint", source="meter"))
        bad = pb.PutRequest(indicator=pb.Indicator(id="paint.x", name="X", template_id="gas_use", owner="paint",
                                                   formula="#m_paint.v + #nope"))
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.PutMany(pb.PutManyRequest(items=[unit, meter, reading, bad]))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("items[3]", cm.exception.details())
        self.assertIn("unknown indicator #nope", cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:  # nothing of it was kept
            self.stub.Get(pb.GetRecordRequest(kind="node", id="paint"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(self.stub.PutMany(pb.PutManyRequest(items=[unit, meter, reading])).put, 3)
        self.assertEqual(self.stub.Get(pb.GetRecordRequest(kind="indicator", id="m_paint.v")).indicator.owner,
                         "m_paint")
        # Uses come as records too.
        used = self.stub.WhereUsed(pb.DeleteRequest(kind="meter", id="m_paint"))
        self.assertEqual([(u.kind, u.id) for u in used.used_by], [("indicator", "m_paint.v")])
        self.assertEqual(list(used.uses), [u.text for u in used.used_by])

    def test_delete_in_use_refused_rename_allowed(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Delete(pb.DeleteRequest(kind="energy_type", id="natural_gas"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("meter Plant/Boiler room/Boiler gas", cm.exception.details())
        self.assertIn("formula of [Plant:Standard coal]", cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Delete(pb.DeleteRequest(kind="meter", id="m_e0"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        # Renaming the gas type breaks nothing: formulas reference ids.
        model = self.stub.GetModel(pb.GetModelRequest())
        gas = [t for t in model.energy_types if t.id == "natural_gas"][0]
        self.assertEqual((gas.name, gas.name_en), ("天然气", "Natural gas"))  # seeded Chinese first
        name = gas.name
        gas.name = "Pipeline gas"
        self.put(energy_type=gas)
        s = self.query(["p.tce"])
        self.assertAlmostEqual(s["p.tce"].values[0], (2400 * 0.1229 + 48 * 0.0857 + 240 * 1.2143) / 1000, places=9)
        gas.name = name
        self.put(energy_type=gas)

    def test_audit_trail_before_and_after(self):
        model = self.stub.GetModel(pb.GetModelRequest())
        m = [x for x in model.meters if x.id == "m_w1"][0]
        old_location = m.location
        m.location = "Pump house"
        self.users["carol"].Put(pb.PutRequest(meter=m))
        self.users["carol"].Put(pb.PutRequest(node=pb.Node(id="tmp_unit", name="Temporary", kind="workshop",
                                                              parent="plant", metering_level=2)))
        self.users["dave"].Delete(pb.DeleteRequest(kind="node", id="tmp_unit"))
        # Naming someone else in `who` is refused.
        with self.assertRaises(grpc.RpcError) as cm:
            self.users["dave"].Put(pb.PutRequest(who="carol", meter=m))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("authenticated caller", cm.exception.details())
        # A refused change leaves no audit record.
        with self.assertRaises(grpc.RpcError):
            self.users["mallory"].Delete(pb.DeleteRequest(kind="meter", id="m_e0"))
        records = self.stub.ListAudit(pb.ListAuditRequest(limit=3)).records
        self.assertEqual([(r.who, r.what) for r in records],
                         [("user:carol", "put meter m_w1"), ("user:carol", "put unit tmp_unit"),
                          ("user:dave", "delete node tmp_unit")])
        before, after = json.loads(records[0].before), json.loads(records[0].after)
        self.assertEqual(before.get("location", ""), old_location)
        self.assertEqual(after["location"], "Pump house")
        self.assertEqual(before["ct_ratio"], after["ct_ratio"])
        self.assertEqual(records[1].before, "")
        self.assertEqual(json.loads(records[1].after)["name"], "Temporary")
        self.assertEqual(json.loads(records[2].before)["id"], "tmp_unit")
        self.assertEqual(records[2].after, "")
        self.assertTrue(all(r.time.seconds > 0 for r in records))
        self.assertNotIn("user:mallory", [r.who for r in self.stub.ListAudit(pb.ListAuditRequest()).records])
        # A time range: nothing after the last record, and the last from its own time on.
        after_last = {"seconds": records[-1].time.seconds + 1}
        self.assertEqual(len(self.stub.ListAudit(pb.ListAuditRequest(**{"from": after_last})).records), 0)
        since = self.stub.ListAudit(pb.ListAuditRequest(**{"from": records[-1].time})).records
        self.assertEqual(since[-1].what, "delete node tmp_unit")
        until = self.stub.ListAudit(pb.ListAuditRequest(to=records[0].time)).records
        self.assertNotIn("delete node tmp_unit", [r.what for r in until])
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ListAudit(pb.ListAuditRequest(limit=20000))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_back_dated_entry_and_corrections(self):
        d = (self.day - datetime.timedelta(days=3)).isoformat()
        month = d[:7]
        first = self.users["alice"].EnterDaily(pb.EnterDailyRequest(id="b1.elec", date=d, value=500))
        self.assertFalse(first.correction)
        s = self.query(["b1.elec"], frm=d)
        self.assertAlmostEqual(s["b1.elec"].values[0], 500)
        self.assertEqual(s["b1.elec"].quality[0], 3)  # QUALITY_MANUAL
        second = self.users["bob"].EnterDaily(pb.EnterDailyRequest(id="b1.elec", date=d, value=540,
                                                           note="meter re-read"))
        self.assertTrue(second.correction)
        s = self.query(["b1.elec"], frm=d)
        self.assertAlmostEqual(s["b1.elec"].values[0], 540)
        entries = self.stub.ListEntries(pb.ListEntriesRequest(id="b1.elec")).entries
        self.assertEqual([(e.value, e.who, e.superseded) for e in entries if e.date == d],
                         [(500, "user:alice", True), (540, "user:bob", False)])
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.EnterDaily(pb.EnterDailyRequest(id="p.tce", date=d, value=1))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_recorded_data_keeps_product_and_indicator(self):
        d = (self.day - datetime.timedelta(days=5)).isoformat()
        self.put(product=pb.Product(id="bricks", name="Bricks", unit="t", node="b1"))
        self.put(product=pb.Product(id="tiles", name="Tiles", unit="t", node="b1"))
        self.stub.EnterDaily(pb.EnterDailyRequest(id="bricks", date=d, value=12))
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Delete(pb.DeleteRequest(kind="product", id="bricks"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("production entries (the first on " + d + ")", cm.exception.details())
        model = self.stub.GetModel(pb.GetModelRequest())
        self.assertIn("bricks", [p.id for p in model.products])
        # Renaming is allowed; a product without entries can go.
        self.put(product=pb.Product(id="bricks", name="Clay bricks", unit="t", node="b1"))
        self.stub.Delete(pb.DeleteRequest(kind="product", id="tiles"))
        model = self.stub.GetModel(pb.GetModelRequest())
        self.assertEqual([p.name for p in model.products if p.id in ("bricks", "tiles")], ["Clay bricks"])
        # A manual indicator with daily entries stays too.
        self.stub.EnterDaily(pb.EnterDailyRequest(id="b1.elec", date=d, value=7))
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Delete(pb.DeleteRequest(kind="indicator", id="b1.elec"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("daily entries", cm.exception.details())

    def test_import_with_a_repeated_id_is_refused_and_changes_nothing(self):
        before = self.stub.GetModel(pb.GetModelRequest())
        bad = pb.EnergyModel()
        bad.CopyFrom(before)
        dup = bad.nodes.add()
        dup.CopyFrom(before.nodes[1])
        dup.name = "a second unit with the same id"
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ImportModel(bad)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn('nodes id "%s" is given more than once' % before.nodes[1].id, cm.exception.details())
        self.assertEqual(self.stub.GetModel(pb.GetModelRequest()), before)
        # The model as it was goes in again, and the answer counts its indicators.
        r = self.stub.ImportModel(before)
        self.assertGreater(len(before.indicators), 0)
        self.assertEqual(r.indicators, len(before.indicators))
        self.assertEqual(self.stub.GetModel(pb.GetModelRequest()), before)

    def test_metering_level_out_of_range_is_refused(self):
        for level in (257, -255, 4):
            with self.assertRaises(grpc.RpcError) as cm:
                self.stub.Put(pb.PutRequest(node=pb.Node(id="odd_unit", name="Odd", kind="workshop",
                                                                  parent="plant", metering_level=level)))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("metering_level", cm.exception.details())

    def test_model_workbook_export_edit_import(self):
        import openpyxl

        def export(**kw):
            chunks = list(self.stub.ExportModelTable(pb.ExportModelTableRequest(**kw)))
            self.assertEqual(chunks[0].filename, "energy-model.xlsx")
            return openpyxl.load_workbook(io.BytesIO(b"".join(c.data for c in chunks)))

        def workbook(sheets):
            wb = openpyxl.Workbook()
            wb.remove(wb.active)
            for name, rows in sheets.items():
                ws = wb.create_sheet(name)
                for r in rows:
                    ws.append(list(r))
            buf = io.BytesIO()
            wb.save(buf)
            return buf.getvalue()

        def get(kind, id_):
            return self.stub.Get(pb.GetRecordRequest(kind=kind, id=id_))

        # The model as the energy manager downloads it: a sheet per kind, Chinese headers.
        wb = export()
        self.assertEqual(wb.sheetnames, ["企业", "能源种类", "指标模板", "用能单位", "计量器具", "产品", "指标"])
        units = [list(r) for r in wb["用能单位"].iter_rows(values_only=True)]
        self.assertEqual(units[0][:5], ["编号", "名称", "类别", "上级", "计量级别"])
        press = next(r for r in units if r[0] == "press")
        self.assertEqual((press[1], press[3], press[4], press[9]), ("Press line", "b1", 3, 250))
        formulas = {r[0]: (r[5], r[6]) for r in wb["指标"].iter_rows(min_row=2, values_only=True)}
        self.assertEqual(formulas["p.water"], ("#m_w0.v", "[Plant/Incoming water:Reading]"))
        self.assertEqual(export(language="en").sheetnames[3], "nodes")
        # A new coating shop filled in by hand, rows in any order: the booth before its
        # shop, an indicator before the meter reading its formula names.
        new = workbook({
            "用能单位": [("编号", "名称", "上级", "类别", "计量级别"),
                     ("coat.booth", "Booth", "coat", "equipment", 3),
                     ("coat", "Coating shop", "b1", "workshop", 3)],
            "计量器具": [("编号", "名称", "所属单位", "能源种类", "计量级别"),
                     ("m_c1", "Coating electricity", "coat", "electricity", 3)],
            "指标": [("编号", "名称", "所属对象", "指标模板", "数据来源", "公式"),
                   ("coat.elec", "Electricity", "coat", "electricity_use", "formula", "#m_c1.v"),
                   ("m_c1.v", "Reading", "m_c1", "active_energy", "meter", None)]})
        r = self.stub.ImportModelTable(pb.ImportModelTableRequest(data=new, dry_run=True))
        self.assertEqual((r.applied, r.created, r.updated, list(r.refused)), (False, 5, 0, []))
        with self.assertRaises(grpc.RpcError) as e:
            get("node", "coat")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        r = self.stub.ImportModelTable(pb.ImportModelTableRequest(data=new))
        self.assertEqual((r.applied, r.created, r.updated, r.unchanged), (True, 5, 0, 0))
        self.assertEqual(get("node", "coat.booth").node.parent, "coat")
        self.assertEqual(get("indicator", "coat.elec").indicator.formula, "#m_c1.v")
        # The same workbook again changes nothing.
        r = self.stub.ImportModelTable(pb.ImportModelTableRequest(data=new))
        self.assertEqual((r.applied, r.created, r.updated, r.unchanged), (True, 0, 0, 5))
        # A sheet of id and name only renames, and keeps every other field.
        r = self.stub.ImportModelTable(pb.ImportModelTableRequest(
            data=workbook({"用能单位": [("编号", "名称"), ("press", "压机线")]})))
        self.assertEqual((r.applied, r.updated), (True, 1))
        press = get("node", "press").node
        self.assertEqual((press.name, press.parent, press.rated_power_kw), ("压机线", "b1", 250))
        # One bad row refuses the whole workbook; every refused row is named with
        # its sheet, row and why.
        bad = workbook({
            "用能单位": [("编号", "名称", "上级", "类别", "计量级别"), ("dry", "Dryer", "b1", "workshop", 3)],
            "计量器具": [("编号", "名称", "所属单位", "能源种类", "计量级别"),
                     ("m_x", "Lost meter", "nowhere", "electricity", 3),
                     ("m_y", "Bad level", "dry", "electricity", "three")],
            "Sheet9": [("x",)]})
        r = self.stub.ImportModelTable(pb.ImportModelTableRequest(data=bad))
        self.assertFalse(r.applied)
        got = [(x.sheet, x.line) for x in r.refused]
        self.assertEqual(got, [("计量器具", 2), ("计量器具", 3), ("Sheet9", 0)])
        self.assertIn("nowhere", r.refused[0].reason)
        self.assertEqual(r.refused[1].reason, 'metering_level: "three" is not a number')
        self.assertIn("not a sheet of the model", r.refused[2].reason)
        with self.assertRaises(grpc.RpcError) as e:
            get("node", "dry")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        # A file that is not a workbook at all.
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.ImportModelTable(pb.ImportModelTableRequest(data=b"id,name\n"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # What this test added and renamed is taken back: the other tests count units.
        for kind, id_ in (("indicator", "coat.elec"), ("indicator", "m_c1.v"), ("meter", "m_c1"),
                          ("node", "coat.booth"), ("node", "coat")):
            self.stub.Delete(pb.DeleteRequest(kind=kind, id=id_))
        r = self.stub.ImportModelTable(pb.ImportModelTableRequest(
            data=workbook({"nodes": [("id", "name"), ("press", "Press line")]})))
        self.assertEqual((r.applied, r.updated), (True, 1))

    def test_import_entries_from_csv_and_xlsx(self):
        import openpyxl
        days = [self.day - datetime.timedelta(days=20 + k) for k in range(4)]
        csv = ("date,b1.elec,nope\n"
               f"{days[0]},100,\n"
               f"{days[1]},abc,\n"
               f"{days[2].strftime('%Y/%m/%d')},120,5\n").encode()
        r = self.stub.ImportEntries(pb.ImportEntriesRequest(data=csv, format="csv", note="November sheet"))
        self.assertEqual((r.entered, r.corrections), (2, 0))
        self.assertEqual([(x.line, x.reason) for x in r.refused],
                         [(3, 'b1.elec: "abc" is not a number'), (4, "no indicator, product or meter nope")])
        listed = self.stub.ListEntries(pb.ListEntriesRequest(id="b1.elec", **{"from": days[2].isoformat()},
                                                            to=days[0].isoformat()))
        got = {(e.date, e.value, e.note) for e in listed.entries}
        self.assertEqual(got, {(days[0].isoformat(), 100, "November sheet"), (days[2].isoformat(), 120, "November sheet")})
        for bad in ({"from": "2026-13-01"}, {"to": "yesterday"}):
            with self.assertRaises(grpc.RpcError) as cm:
                self.stub.ListEntries(pb.ListEntriesRequest(id="b1.elec", **bad))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn(next(iter(bad)) + ": not a date", cm.exception.details())
            with self.assertRaises(grpc.RpcError) as cm:
                b"".join(c.data for c in self.stub.ExportEntries(pb.ExportEntriesRequest(id="b1.elec", format="csv", **bad)))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # A sheet written by another program, with date cells; a day entered again is a correction.
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["日期", "b1.elec"])
        ws.append([days[3], 130])
        ws.append([days[0], 150])
        buf = io.BytesIO()
        wb.save(buf)
        r = self.stub.ImportEntries(pb.ImportEntriesRequest(data=buf.getvalue(), format="xlsx"))
        self.assertEqual((r.entered, r.corrections, len(r.refused)), (2, 1, 0))
        s = self.query(["b1.elec"], frm=days[3].isoformat(), to=days[0].isoformat())["b1.elec"]
        self.assertEqual([round(v, 9) for v in s.values], [130.0, 120.0, 0.0, 150.0])
        self.assertEqual(list(s.quality), [3, 3, 4, 3])  # manual, manual, missing, manual
        # Exported as a table, the entries in force read back as the same values.
        def export(fmt_, **kw):
            return b"".join(c.data for c in self.stub.ExportEntries(pb.ExportEntriesRequest(
                id="b1.elec", **{"from": days[3].isoformat()}, to=days[0].isoformat(), format=fmt_, **kw)))
        csv_out = export("csv").decode().splitlines()
        self.assertEqual(csv_out[0], "date,id,value,note,who,entered")
        self.assertEqual([tuple(line.split(",")[:3]) for line in csv_out[1:]],
                         [(days[3].isoformat(), "b1.elec", "130"), (days[2].isoformat(), "b1.elec", "120"),
                          (days[0].isoformat(), "b1.elec", "150")])
        self.assertEqual(len(export("csv", with_superseded=True).decode().splitlines()), 5)  # and the first 100
        sheet = openpyxl.load_workbook(io.BytesIO(export("xlsx"))).active
        self.assertEqual([c.value for c in sheet[1]], ["date", "id", "value", "note", "who", "entered"])
        self.assertEqual((sheet["A2"].value, sheet["C2"].value), (days[3].isoformat(), 130))
        r = self.stub.ImportEntries(pb.ImportEntriesRequest(data=export("xlsx"), format="xlsx"))
        self.assertEqual((r.entered, r.corrections, len(r.refused)), (3, 3, 0))
        # A file that is not one: refused whole, saying why.
        for data, fmt_, text in ((b"PK\x03\x04nope", "xlsx", "not an .xlsx file"),
                                 (b"day,value\n", "csv", 'header must be "date"'),
                                 (b"date,x\n", "ods", "not csv or xlsx")):
            with self.assertRaises(grpc.RpcError) as cm:
                self.stub.ImportEntries(pb.ImportEntriesRequest(data=data, format=fmt_))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn(text, cm.exception.details())

    def test_late_readings_backfill_and_every_reading_has_a_fate(self):
        # A gateway that buffered through an outage sends its readings late.
        self.put(meter=pb.Meter(id="m_gw", name="Gateway feeder", energy_type="electricity", node="boiler",
                                metering_level=2))
        self.put(indicator=pb.Indicator(id="m_gw.v", name="Reading", template_id="active_energy",
                                        owner="m_gw", source="meter"))
        day = datetime.date.today() - datetime.timedelta(days=3)
        start = datetime.datetime.combine(day, datetime.time(0), TZ)

        def rec(hour, counter, minute=0):
            t = start + datetime.timedelta(hours=hour, minutes=minute)
            return self.stub.RecordReading(pb.RecordReadingRequest(
                meter="m_gw", time={"seconds": int(t.timestamp())}, counter=counter))

        def hours():
            s = self.query(["m_gw.v"], res="hour", frm=day.isoformat())["m_gw.v"]
            return [round(v, 9) for v in s.values[:4]], list(s.quality[:4])

        self.assertEqual(rec(0, 1000).fate, pb.READING_RECORDED)
        self.assertEqual(rec(4, 1400).fate, pb.READING_RECORDED)
        values, quality = hours()
        self.assertEqual(values, [100.0] * 4)
        self.assertEqual(set(quality), {2})  # QUALITY_ESTIMATED: spread over the outage
        # The buffered readings, newest first.
        for h, c in ((3, 1390), (2, 1300), (1, 1010)):
            self.assertEqual(rec(h, c).fate, pb.READING_BACKFILLED)
        values, quality = hours()
        self.assertEqual(values, [10.0, 290.0, 90.0, 10.0])
        self.assertEqual(set(quality), {1})  # QUALITY_MEASURED: every hour read
        # Sent twice: nothing changes.
        self.assertEqual(rec(2, 1300).fate, pb.READING_DUPLICATE)
        self.assertEqual(hours()[0], [10.0, 290.0, 90.0, 10.0])
        # Another counter for a time recorded, or one that does not fit: refused, saying why.
        with self.assertRaises(grpc.RpcError) as cm:
            rec(2, 1305)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        self.assertIn("a reading of 1300 is recorded", cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            rec(2, 1395, minute=30)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("is not between the readings around it", cm.exception.details())
        self.assertEqual(hours()[0], [10.0, 290.0, 90.0, 10.0])

    def test_readings_in_batches_and_streams_each_with_its_fate(self):
        for mid in ("m_batch", "m_stream"):
            self.put(meter=pb.Meter(id=mid, name=mid, energy_type="electricity", node="boiler", metering_level=2))
            self.put(indicator=pb.Indicator(id=mid + ".v", name="Reading", template_id="active_energy",
                                            owner=mid, source="meter"))
        day = datetime.date.today() - datetime.timedelta(days=4)
        start = datetime.datetime.combine(day, datetime.time(0), TZ)

        def reading(mid, hour, counter):
            t = start + datetime.timedelta(hours=hour)
            return pb.RecordReadingRequest(meter=mid, time={"seconds": int(t.timestamp())}, counter=counter)

        # A day of hourly readings, hour h using h + 1 kWh, sent out of order.
        counters = [sum(range(1, h + 1)) for h in range(25)]
        batch = [reading("m_batch", h, counters[h]) for h in range(25)]
        batch = batch[12:] + batch[:12]
        batch.append(reading("m_batch", 5, counters[5]))        # 25: the same again
        batch.append(reading("m_batch", 6, counters[6] + 1))    # 26: another counter at 06:00
        batch.append(reading("m_nope", 1, 10))                  # 27: no such meter
        batch.append(pb.RecordReadingRequest(meter="m_batch"))  # 28: no time
        r = self.stub.RecordReadings(pb.RecordReadingsRequest(readings=batch))
        self.assertEqual((r.recorded, r.backfilled, r.duplicates, r.refused), (25, 0, 1, 3))
        fates = {x.index: x for x in r.results}
        self.assertEqual(sorted(fates), [25, 26, 27, 28])
        self.assertEqual(fates[25].fate, pb.READING_DUPLICATE)
        self.assertEqual(fates[26].code, grpc.StatusCode.ALREADY_EXISTS.value[0])
        self.assertIn("a reading of 21 is recorded", fates[26].error)
        self.assertEqual(fates[27].code, grpc.StatusCode.NOT_FOUND.value[0])
        self.assertEqual(fates[28].code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        s = self.query(["m_batch.v"], res="hour", frm=day.isoformat())["m_batch.v"]
        self.assertEqual([round(v, 9) for v in s.values], [float(h + 1) for h in range(24)])
        self.assertEqual(set(s.quality), {1})  # QUALITY_MEASURED

        # A backlog streamed newest batch first: the older one is backfilled.
        newer = [reading("m_stream", h, counters[h]) for h in range(12, 25)]
        older = [reading("m_stream", h, counters[h]) for h in range(0, 12)]
        r = self.stub.StreamReadings(iter([pb.RecordReadingsRequest(readings=newer),
                                           pb.RecordReadingsRequest(readings=older),
                                           pb.RecordReadingsRequest(readings=[reading("m_stream", 3, 1)])]))
        self.assertEqual((r.recorded, r.backfilled, r.duplicates, r.refused), (13, 12, 0, 1))
        self.assertEqual([x.index for x in r.results if x.fate == pb.READING_BACKFILLED], list(range(13, 25)))
        refused = [x for x in r.results if x.code]
        self.assertEqual([x.index for x in refused], [25])  # counted from the stream's first reading
        self.assertEqual(refused[0].code, grpc.StatusCode.ALREADY_EXISTS.value[0])
        s = self.query(["m_stream.v"], res="hour", frm=day.isoformat())["m_stream.v"]
        self.assertEqual([round(v, 9) for v in s.values], [float(h + 1) for h in range(24)])
        self.assertEqual(set(s.quality), {1})

    def test_hours_older_than_the_held_window_are_read_back_from_the_store(self):
        # A meter read 40 days ago, hourly (the window held in memory is 35
        # days): its day is held as its sum, its hours are in the store.
        self.put(meter=pb.Meter(id="m_old", name="Old feeder", energy_type="electricity", node="boiler",
                                metering_level=2))
        self.put(indicator=pb.Indicator(id="m_old.v", name="Reading", template_id="active_energy",
                                        owner="m_old", source="meter"))
        self.put(indicator=pb.Indicator(id="boiler.old2", name="Twice", template_id="electricity_use",
                                        owner="boiler", formula="#m_old.v * 2"))
        old = datetime.date.today() - datetime.timedelta(days=40)
        self.record_hourly("m_old", old, [h + 1 for h in range(24)])
        day = self.query(["m_old.v"], res="day", frm=old.isoformat())["m_old.v"]
        self.assertAlmostEqual(day.values[0], sum(range(1, 25)), places=6)
        s = self.query(["m_old.v", "boiler.old2"], res="hour", frm=old.isoformat())
        self.assertEqual(len(s["m_old.v"].values), 24)
        self.assertEqual([round(v, 6) for v in s["m_old.v"].values], [float(h + 1) for h in range(24)])
        self.assertEqual(set(s["m_old.v"].quality), {1})  # QUALITY_MEASURED
        self.assertAlmostEqual(s["boiler.old2"].values[5], 12, places=6)
        # A day before anything was recorded: hours read back as missing.
        older = (old - datetime.timedelta(days=360)).isoformat()
        s = self.query(["p.elec"], res="hour", frm=older)["p.elec"]
        self.assertEqual(set(s.quality), {4})  # QUALITY_MISSING
        # Recent hours come from memory: 100 kWh each.
        s = self.query(["p.elec"], res="hour")["p.elec"]
        self.assertEqual(len(s.values), 24)
        self.assertAlmostEqual(s.values[3], 100)

    def test_tou_cost_is_each_hours_use_at_that_hours_price(self):
        # Its own energy type, so the other tests keep their flat prices: a
        # peak 08:00-12:00 at 1.2, 0.5 otherwise.
        t = pb.EnergyType(id="tou_power", name="TOU power", unit="kWh")
        t.prices.add(version="TOU 2026", flat=0.5, source="tariff",
                     tou=[pb.TariffSlot(start="08:00", end="12:00", price=1.2)])
        self.put(energy_type=t)
        self.put(template=pb.IndicatorTemplate(id="tou_energy", name="TOU energy", kind="collection",
                                               energy_type="tou_power", unit="kWh"))
        self.put(meter=pb.Meter(id="m_t1", name="TOU feeder", energy_type="tou_power", node="b1",
                                metering_level=2))
        self.put(indicator=pb.Indicator(id="m_t1.v", name="Reading", template_id="tou_energy", owner="m_t1",
                                        source="meter"))
        self.put(indicator=pb.Indicator(id="b1.tou_cost", name="TOU cost", template_id="cost", owner="b1",
                                        formula="#m_t1.v * price(tou_power)"))
        # Hour h uses 10 + 5h kWh: the peak hours use more than the average.
        day = self.day - datetime.timedelta(days=3)
        use = [10 + 5 * h for h in range(24)]
        self.record_hourly("m_t1", day, use)
        exact = sum(u * (1.2 if 8 <= h < 12 else 0.5) for h, u in enumerate(use))
        average = sum(use) * (4 * 1.2 + 20 * 0.5) / 24
        s = self.query(["m_t1.v", "b1.tou_cost"], frm=day.isoformat())
        self.assertAlmostEqual(s["m_t1.v"].values[0], sum(use), places=6)
        self.assertAlmostEqual(s["b1.tou_cost"].values[0], exact, places=6)
        self.assertNotAlmostEqual(s["b1.tou_cost"].values[0], average, places=1)
        self.assertEqual(s["b1.tou_cost"].quality[0], 1)  # QUALITY_MEASURED
        hours = self.query(["b1.tou_cost"], res="hour", frm=day.isoformat())["b1.tou_cost"]
        self.assertAlmostEqual(hours.values[9], use[9] * 1.2, places=6)
        self.assertAlmostEqual(sum(hours.values), exact, places=6)
        # 40 days ago, before the 35 days of hours held in memory: the day is
        # computed again from its stored hours, exactly.
        self.put(meter=pb.Meter(id="m_t2", name="Old TOU feeder", energy_type="tou_power", node="b1",
                                metering_level=2))
        self.put(indicator=pb.Indicator(id="m_t2.v", name="Reading", template_id="tou_energy", owner="m_t2",
                                        source="meter"))
        self.put(indicator=pb.Indicator(id="b1.tou_cost2", name="Old TOU cost", template_id="cost", owner="b1",
                                        formula="#m_t2.v * price(tou_power)"))
        old = datetime.date.today() - datetime.timedelta(days=40)
        self.record_hourly("m_t2", old, use)
        s = self.query(["m_t2.v", "b1.tou_cost2"], frm=old.isoformat())
        self.assertAlmostEqual(s["m_t2.v"].values[0], sum(use), places=6)
        self.assertAlmostEqual(s["b1.tou_cost2"].values[0], exact, places=6)
        self.assertEqual(s["b1.tou_cost2"].quality[0], 1)  # measured, not estimated

    def test_meter_swap(self):
        t0 = datetime.datetime.combine(self.day - datetime.timedelta(days=2), datetime.time(9), TZ)
        ts = lambda dt: {"seconds": int(dt.timestamp())}
        self.stub.RecordReading(pb.RecordReadingRequest(meter="m_e11", time=ts(t0), counter=700))
        r = self.stub.SwapMeter(pb.SwapMeterRequest(meter="m_e11", time=ts(t0 + datetime.timedelta(minutes=30)),
                                                    old_final=730, new_initial=0))
        self.assertEqual(list(r.events), ["swap"])
        self.stub.RecordReading(pb.RecordReadingRequest(meter="m_e11", time=ts(t0 + datetime.timedelta(minutes=60)),
                                                        counter=12))
        s = self.query(["m_e11.v"], res="hour", frm=t0.date().isoformat())
        self.assertAlmostEqual(s["m_e11.v"].values[9], 42)

    def test_xlsx_report_and_coverage(self):
        chunks = list(self.stub.ExportReport(pb.ExportReportRequest(
            query=pb.QueryRequest(node="plant", resolution="day", **{"from": self.day.isoformat()}), format="xlsx")))
        self.assertTrue(chunks[0].filename.endswith(".xlsx"))
        data = b"".join(c.data for c in chunks)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            raw = z.read("xl/worksheets/sheet1.xml")
            sheet = ET.fromstring(raw)
        # Rows are the enterprise's periods as it names them, not UTC times.
        self.assertIn(f"<t>{self.day.isoformat()}</t>", raw.decode())
        self.assertIn("<t>时段</t>", raw.decode())
        ns = {"s": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
        self.assertGreaterEqual(len(sheet.findall(".//s:row", ns)), 2)
        def csv_report(language):
            return b"".join(c.data for c in self.stub.ExportReport(pb.ExportReportRequest(
                query=pb.QueryRequest(indicators=["p.elec"], resolution="day", **{"from": self.day.isoformat()}),
                format="csv", language=language))).decode().splitlines()
        csv = csv_report("en")
        self.assertTrue(csv[0].startswith("period,"), csv[0])
        self.assertEqual(csv[1], f"{self.day.isoformat()},2400,measured")
        csv = csv_report("")  # the enterprise's language: Chinese unless it says otherwise
        self.assertTrue(csv[0].startswith("时段,") and csv[0].endswith(",质量"), csv[0])
        self.assertEqual(csv[1], f"{self.day.isoformat()},2400,实测")
        with self.assertRaises(grpc.RpcError) as cm:
            csv_report("fr")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        rows = self.stub.GetCoverage(pb.GetCoverageRequest()).rows
        e3 = [r for r in rows if r.energy_type == "electricity" and r.level == 3][0]
        self.assertEqual((e3.using_units, e3.metered_units, e3.required_percent), (1, 1, 95))
        self.assertTrue(e3.meets)

    def test_plantctl_energy(self):
        plantctl = os.path.join(os.path.dirname(ARGS.plantd), "plantctl")
        run = lambda *a: subprocess.run([plantctl, "--target", self.channel.target_text, "energy", *a],
                                        capture_output=True, text=True, timeout=30)
        tree = run("tree")
        self.assertEqual(tree.returncode, 0, tree.stderr)
        self.assertIn("Boiler room  [workshop, level 2, boiler]", tree.stdout)
        self.assertIn("meter Boiler 1 gas  [natural_gas, level 3, m_g21]", tree.stdout)
        path = os.path.join(self.tmp.name, "model.json")
        self.assertEqual(run("export", "-o", path).returncode, 0)
        imp = run("import", path)
        self.assertEqual(imp.returncode, 0, imp.stderr)
        self.assertIn("imported:", imp.stdout)
        # A sheet of daily values: entered, the bad line named, exit 1.
        sheet = os.path.join(self.tmp.name, "entries.csv")
        day = (self.day - datetime.timedelta(days=30)).isoformat()
        with open(sheet, "w") as f:
            f.write(f"date,id,value\n{day},b1.elec,321\n{day},b1.elec,lots\n")
        ent = run("entries", sheet, "--note", "from plantctl")
        self.assertEqual(ent.returncode, 1, ent.stderr)
        self.assertIn("entered 1 (0 corrections), refused 1", ent.stdout)
        self.assertIn('line 3: "lots" is not a number', ent.stdout)
        rep = run("report", "plant", "--from", self.day.isoformat())
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("Plant:Standard coal (tce)", rep.stdout)
        bad = run("enter", "p.tce", self.day.isoformat(), "5")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("is a formula indicator", bad.stderr)
        audit = run("audit", "--last", "2")
        self.assertEqual(audit.returncode, 0, audit.stderr)
        self.assertIn("import of the whole model", audit.stdout)
        self.assertEqual(len([l for l in audit.stdout.splitlines() if not l.startswith("    ")]), 2)
        # The import's record counts what it replaced and brought: the same model.
        rec = [r for r in self.stub.ListAudit(pb.ListAuditRequest(limit=5)).records
               if r.what == "import of the whole model"][-1]
        before, after = json.loads(rec.before), json.loads(rec.after)
        model = self.stub.GetModel(pb.GetModelRequest())
        self.assertEqual(after["nodes"], len(model.nodes))
        self.assertEqual(after["indicators"], len(model.indicators))
        self.assertEqual(before, after)
        # The model as a workbook: exported, and read back without a change.
        book = os.path.join(self.tmp.name, "model.xlsx")
        exp = run("export", "-o", book, "--language", "en")
        self.assertEqual(exp.returncode, 0, exp.stderr)
        dry = run("import", book, "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertRegex(dry.stdout, r"^would import \(dry run\): 0 created, 0 updated, \d+ unchanged")

    def test_zz_restart_keeps_everything(self):
        before = self.query(["p.tce", "p.cost"])
        stop(self.proc)
        EnergyCarbon.proc, EnergyCarbon.channel = start_plantd(self.data)
        EnergyCarbon.stub = pbg.EnergyCarbonServiceStub(EnergyCarbon.channel)
        after = self.query(["p.tce", "p.cost"])
        # Sessions outlive a restart: a user's token still works on the new TCP port.
        from plantd.v1 import access_pb2 as apb, access_pb2_grpc as apbg
        tcp = with_deadline(grpc.insecure_channel(EnergyCarbon.channel.tcp_target))
        me = AsUser(apbg.AccessServiceStub(tcp), self.tokens["alice"]).WhoAmI(apb.WhoAmIRequest())
        self.assertEqual((me.name, me.role), ("user:alice", apb.ROLE_ENERGY_MANAGER))
        for k in before:
            self.assertAlmostEqual(before[k].values[0], after[k].values[0], places=9)
            self.assertEqual(before[k].quality[0], after[k].quality[0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--plantd", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--config", required=True)
    ARGS, rest = parser.parse_known_args()
    # The example's device ports are fixed: fresh ones, nothing else's plant.
    ARGS.config = free_port_config(ARGS.config)
    atexit.register(os.remove, ARGS.config)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
