#!/usr/bin/python3
"""Who may do what, from an independent client (Python grpcio).

Runs plantd and calls it as an integrator would, with stubs generated from
proto/ alone: accounts made on the unit's local socket, users logging in
over TCP, API tokens, TLS with plantd's own certificate, mutual TLS with
client certificates made here by OpenSSL, the role x method matrix (every
RPC of the descriptor pool, every role), lockout, the audit.
"""
import argparse
import atexit
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

import grpc
from grpc_tools import protoc

from free_ports import free_port_config

ARGS = None
PROTOS = ("access", "alarm", "config", "control", "energy", "plant_service", "statistics",
          "telemetry")

# The expected permission of every RPC (an independent statement of
# model/access's table: a new RPC must be added to both).
PERMISSION = {
    "PlantService": {"GetInfo": "monitor", "GetConfig": "config.read",
                     "ValidateConfig": "config.read", "ListConfigVersions": "config.read",
                     "DiffConfig": "config.read", "ApplyConfig": "config.write",
                     "PatchConfig": "config.write", "RollbackConfig": "config.write",
                     "Commission": "config.write", "GetCommissionReport": "config.read",
                     "ExportCommissionReport": "config.read", "SetTime": "config.write"},
    "ControlService": {"GetState": "monitor", "StreamState": "monitor", "SetMode": "control",
                       "SetManualSetpoint": "control"},
    "TelemetryService": {"ListSeries": "monitor", "QueryHistory": "monitor",
                         "EnergyCurve": "monitor", "Export": "monitor", "GetSnapshot": "monitor",
                         "StreamTelemetry": "monitor"},
    "StatisticsService": {"GetOverview": "monitor", "GetRevenue": "monitor",
                          "GetSocialContribution": "monitor",
                          "GetDeviceStatistics": "monitor"},
    "AlarmService": {"ListAlarms": "monitor", "StreamAlarms": "monitor",
                     "Acknowledge": "alarm.ack"},
    "EnergyCarbonService": {
        "GetModel": "energy.read", "ValidateFormula": "energy.read", "WhereUsed": "energy.read",
        "ListEntries": "energy.read", "Query": "energy.read", "ExportReport": "energy.read",
        "GetCoverage": "energy.read", "ListAudit": "energy.read", "ImportModel": "energy.write",
        "Put": "energy.write", "Get": "energy.read", "Update": "energy.write",
        "PutMany": "energy.write", "Delete": "energy.write", "EnterDaily": "energy.write", "ImportEntries": "energy.write", "ExportEntries": "energy.read",
        "ImportModelTable": "energy.write", "ExportModelTable": "energy.read",
        "RecordReading": "energy.write", "RecordReadings": "energy.write",
        "StreamReadings": "energy.write", "SwapMeter": "energy.write"},
    "AccessService": {
        "Login": "open", "Bootstrap": "open", "Logout": "session", "WhoAmI": "session",
        "ChangePassword": "session", "CreateUser": "accounts", "SetUserDisabled": "accounts",
        "ListUsers": "accounts", "CreateToken": "tokens", "RevokeToken": "tokens",
        "ListTokens": "tokens", "IssueInstallerCode": "installer_code"},
    "AuditService": {"ListAudit": "audit.read"},
}
WRITES = {"config.write", "control", "alarm.ack", "energy.write", "accounts", "tokens",
          "installer_code"}
ALWAYS = {"open", "session", "monitor"}
GRANTS = {
    "viewer": ALWAYS | {"config.read", "energy.read"},
    "owner": ALWAYS | {"config.read", "energy.read", "control", "alarm.ack", "audit.read"},
    "energy_manager": ALWAYS | {"energy.read", "energy.write"},
    "installer": ALWAYS | {"config.read", "config.write", "control", "alarm.ack", "energy.read",
                           "accounts", "tokens", "audit.read"},
    "distributor": ALWAYS | {"config.read", "accounts", "installer_code", "audit.read"},
    "service": ALWAYS | {"config.read", "config.write", "control", "alarm.ack", "energy.read",
                         "energy.write", "audit.read"},
}


def generate_stubs(proto_dir, out_dir):
    import grpc_tools
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    includes = [f"-I{proto_dir}", "-I/usr/include"]
    if os.path.isdir(well_known):
        includes.append(f"-I{well_known}")
    files = [os.path.join(proto_dir, f"plantd/v1/{f}.proto") for f in PROTOS]
    if protoc.main(["protoc", *includes, f"--python_out={out_dir}",
                    f"--grpc_python_out={out_dir}", *files]) != 0:
        raise RuntimeError("protoc failed")
    sys.path.insert(0, out_dir)


class Plantd:
    """plantd on a free loopback port and its own local socket."""

    def __init__(self, data_dir, *extra):
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [ARGS.plantd, "--config", ARGS.config, "--listen", "127.0.0.1:0",
             "--data-dir", data_dir, "--log-level", "warn", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (unix:\S+) and 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"plantd did not start: {line!r} {self.proc.stderr.read()}")
        self.socket, self.port = m.group(1), int(m.group(2))
        # Subchannels of its own (see python_energy_test.start_plantd).
        self.local = grpc.insecure_channel(self.socket,
                                           options=[("grpc.use_local_subchannel_pool", 1)])
        grpc.channel_ready_future(self.local).result(timeout=30)  # a loaded machine

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=20) == 0

    def plain(self):
        return grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def tls(self, cert=None, key=None, host="localhost"):
        with open(os.path.join(self.data_dir, "tls", "server.crt"), "rb") as f:
            root = f.read()
        creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                             certificate_chain=cert)
        return grpc.secure_channel(f"{host}:{self.port}", creds)


def bearer(token):
    return (("authorization", "Bearer " + token),)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name}", "-days", "30",
            cwd=d)


def make_client(d, ca, name, subject):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "30", cwd=d)
    with open(os.path.join(d, f"{name}.crt"), "rb") as c, open(os.path.join(d, f"{name}.key"), "rb") as k:
        return c.read(), k.read()


class Access(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        generate_stubs(ARGS.proto_dir, cls.tmp.name)
        global apb, apbg, cpb, cpbg, ppb, ppbg, cfgpb
        from plantd.v1 import config_pb2 as cfgpb
        from plantd.v1 import access_pb2 as apb, access_pb2_grpc as apbg
        from plantd.v1 import control_pb2 as cpb, control_pb2_grpc as cpbg
        from plantd.v1 import plant_service_pb2 as ppb, plant_service_pb2_grpc as ppbg
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def start(self, *extra):
        Access.n += 1
        p = Plantd(os.path.join(self.tmp.name, f"data{self.n}"), *extra)
        self.addCleanup(p.stop)
        return p

    def users(self, p, channel):
        """A token of every role: users made on the local socket log in on `channel`."""
        local = apbg.AccessServiceStub(p.local)
        remote = apbg.AccessServiceStub(channel)
        tokens = {}
        for role in ("viewer", "owner", "energy_manager", "installer", "distributor"):
            local.CreateUser(apb.CreateUserRequest(username=f"u-{role}", password="pass-" + role * 2,
                                                   role=apb.Role.Value("ROLE_" + role.upper())))
            tokens[role] = remote.Login(apb.LoginRequest(username=f"u-{role}",
                                                         password="pass-" + role * 2)).token
        tokens["service"] = local.CreateToken(
            apb.CreateTokenRequest(name="cloud", role=apb.ROLE_SERVICE)).token
        return tokens

    def test_role_x_method_matrix(self):
        p = self.start()
        tcp = p.plain()
        tokens = self.users(p, tcp)
        # Every RPC of the descriptor pool, Logout last (it ends the session).
        methods = []
        for mod in PROTOS:
            pb2 = __import__(f"plantd.v1.{mod}_pb2", fromlist=["DESCRIPTOR"])
            for svc in pb2.DESCRIPTOR.services_by_name.values():
                for m in svc.methods:
                    self.assertIn(m.name, PERMISSION.get(svc.name, {}),
                                  f"{svc.full_name}/{m.name} has no expected permission here")
                    methods.append((svc, m))
        methods.sort(key=lambda sm: sm[1].name == "Logout")
        self.assertGreater(len(methods), 45)
        for svc, m in methods:
            path = f"/{svc.full_name}/{m.name}"
            perm = PERMISSION[svc.name][m.name]
            streaming = m.server_streaming
            call = tcp.unary_stream(path) if streaming else tcp.unary_unary(path)
            principals = [None] if perm == "open" else [None, *tokens]
            for who in principals:
                with self.subTest(method=path, who=who):
                    md = bearer(tokens[who]) if who else ()
                    code, details = None, ""
                    try:
                        if streaming:
                            it = call(b"", metadata=md, timeout=0.5)
                            try:
                                next(it)
                            finally:
                                it.cancel()
                        else:
                            call(b"", metadata=md, timeout=5)
                    except grpc.RpcError as e:
                        code, details = e.code(), e.details() or ""
                    if perm == "open":
                        self.assertNotIn("needs credentials", details)
                    elif who is None:
                        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED, details)
                    elif perm in GRANTS[who]:
                        self.assertNotEqual(code, grpc.StatusCode.UNAUTHENTICATED, details)
                        self.assertNotIn("needs permission", details)
                    else:
                        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED, details)
                        self.assertIn(f"needs permission '{perm}'", details)
                        self.assertIn(f"role '{who}'", details)
        # Every write method was audited, with the caller that made it.
        audit = apbg.AuditServiceStub(p.local)
        records = []
        page = audit.ListAudit(apb.AuditQuery(limit=1000))
        while True:
            records.extend(page.records)
            if not page.next_before_seq:
                break
            page = audit.ListAudit(apb.AuditQuery(limit=1000, before_seq=page.next_before_seq))
        seen = {(r.method, r.principal) for r in records}
        # Refusals are written at a bounded rate (20/s, bursts of 100): an
        # anonymous refusal is either recorded or counted in the record
        # written after it ("and N refused calls before it ...").
        suppressed = sum(int(m.group(1)) for r in records
                         for m in [re.search(r"and (\d+) refused calls before it", r.result)] if m)
        anonymous_missing = 0
        for svc, m in methods:
            perm = PERMISSION[svc.name][m.name]
            if perm in WRITES:
                path = f"/{svc.full_name}/{m.name}"
                with self.subTest(audited=path):
                    if (path, "anonymous") not in seen:
                        anonymous_missing += 1
                    granted = [w for w in tokens if perm in GRANTS[w]]
                    self.assertTrue(granted)
                    for w in granted:
                        name = "token:cloud" if w == "service" else f"user:u-{w}"
                        # Listing accounts or tokens needs the permission
                        # but changes nothing: only its refusals are audited.
                        if m.name.startswith("List"):
                            self.assertNotIn((path, name), seen)
                        else:
                            self.assertIn((path, name), seen)
        self.assertLessEqual(anonymous_missing, suppressed)

    def test_owner_sets_a_mode_and_the_audit_says_who(self):
        p = self.start()
        tcp = p.plain()
        local = apbg.AccessServiceStub(p.local)
        local.CreateUser(apb.CreateUserRequest(username="olga", password="olga-password",
                                               role=apb.ROLE_OWNER))
        token = apbg.AccessServiceStub(tcp).Login(
            apb.LoginRequest(username="olga", password="olga-password")).token
        control = cpbg.ControlServiceStub(tcp)
        control.SetMode(cpb.SetModeRequest(mode=cfgpb.WORKING_MODE_TIME_OF_USE), metadata=bearer(token))
        records = apbg.AuditServiceStub(p.local).ListAudit(
            apb.AuditQuery(method="ControlService/SetMode")).records
        self.assertEqual(len(records), 1)
        r = records[0]
        self.assertEqual((r.principal, r.role, r.result), ("user:olga", apb.ROLE_OWNER, "OK"))
        self.assertIn("WORKING_MODE_TIME_OF_USE", r.request)
        self.assertEqual(r.before, "mode self-consumption (config version 1)")
        self.assertRegex(r.after, r"^mode time-of-use, \d+ TOU slots \(config version 2\)$")
        self.assertTrue(r.peer.startswith("ipv4:127.0.0.1:"), r.peer)
        # The login is there too, without the password.
        logins = apbg.AuditServiceStub(p.local).ListAudit(
            apb.AuditQuery(method="AccessService/Login")).records
        self.assertTrue(logins)
        self.assertNotIn("olga-password", logins[0].request)
        self.assertIn("olga", logins[0].request)
        # An account disabled: before and after; listing accounts is not a change.
        local.SetUserDisabled(apb.SetUserDisabledRequest(username="olga", disabled=True))
        local.ListUsers(apb.ListUsersRequest())
        audit = apbg.AuditServiceStub(p.local)
        r = audit.ListAudit(apb.AuditQuery(method="AccessService/SetUserDisabled")).records[0]
        self.assertEqual((r.before, r.after), ("olga: active", "olga: disabled"))
        self.assertEqual(len(audit.ListAudit(apb.AuditQuery(method="ListUsers")).records), 0)

    def test_bad_credentials_each_get_a_clear_status(self):
        p = self.start()
        tcp = p.plain()
        local = apbg.AccessServiceStub(p.local)
        info = ppbg.PlantServiceStub(tcp)
        made = local.CreateToken(apb.CreateTokenRequest(name="gateway", role=apb.ROLE_VIEWER))
        info.GetInfo(ppb.GetInfoRequest(), metadata=bearer(made.token))
        cases = [
            ((("token", made.token),), "send it as 'authorization: Bearer <token>'"),
            ((("authorization", "Basic dXNlcjpwYXNz"),), "expected 'Bearer <token>'"),
            (bearer("pdt_" + "A" * 43), "unknown or revoked token"),
            (bearer("x"), "malformed token"),
            ((), "needs credentials"),
        ]
        local.RevokeToken(apb.RevokeTokenRequest(id=made.info.id))
        cases.append((bearer(made.token), "unknown or revoked token"))
        for md, text in cases:
            with self.subTest(metadata=md):
                with self.assertRaises(grpc.RpcError) as cm:
                    info.GetInfo(ppb.GetInfoRequest(), metadata=md)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                self.assertIn(text, cm.exception.details())
        # A huge binary user name is a wrong login.
        with self.assertRaises(grpc.RpcError) as cm:
            apbg.AccessServiceStub(tcp).Login(
                apb.LoginRequest(username="\u00ff" * 100000,
                                 password="x"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_lockout_after_five_wrong_passwords(self):
        p = self.start()
        tcp = apbg.AccessServiceStub(p.plain())
        apbg.AccessServiceStub(p.local).CreateUser(
            apb.CreateUserRequest(username="olga", password="olga-password", role=apb.ROLE_OWNER))
        for _ in range(5):
            with self.assertRaises(grpc.RpcError) as cm:
                tcp.Login(apb.LoginRequest(username="olga", password="guess-guess"))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as cm:
            tcp.Login(apb.LoginRequest(username="olga", password="olga-password"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("try again in", cm.exception.details())
        refused = apbg.AuditServiceStub(p.local).ListAudit(apb.AuditQuery(refused_only=True)).records
        self.assertGreaterEqual(len([r for r in refused if r.method.endswith("/Login")]), 6)

    def test_first_installer_from_the_code_printed_at_start(self):
        p = self.start()
        code = None
        deadline = time.monotonic() + 10
        text = ""
        while code is None and time.monotonic() < deadline:
            text += p.proc.stderr.readline()
            m = re.search(r"installer code (\S+)", text)
            code = m.group(1) if m else None
        self.assertIsNotNone(code, text)
        tcp = apbg.AccessServiceStub(p.plain())
        made = tcp.Bootstrap(apb.BootstrapRequest(installer_code=code, username="ingrid",
                                                  password="ingrid-password"))
        self.assertEqual(made.principal.role, apb.ROLE_INSTALLER)
        me = tcp.WhoAmI(apb.WhoAmIRequest(), metadata=bearer(made.token))
        self.assertEqual((me.name, me.kind), ("user:ingrid", apb.CREDENTIAL_KIND_SESSION))
        with self.assertRaises(grpc.RpcError) as cm:
            tcp.Bootstrap(apb.BootstrapRequest(installer_code=code, username="mallory",
                                               password="mallory-password"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        # The installer creates an owner; an owner cannot create anyone.
        tcp.CreateUser(apb.CreateUserRequest(username="olga", password="olga-password",
                                             role=apb.ROLE_OWNER), metadata=bearer(made.token))
        olga = tcp.Login(apb.LoginRequest(username="olga", password="olga-password")).token
        with self.assertRaises(grpc.RpcError) as cm:
            tcp.CreateUser(apb.CreateUserRequest(username="vera", password="vera-password",
                                                 role=apb.ROLE_VIEWER), metadata=bearer(olga))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

    def test_tls_with_plantds_own_certificate(self):
        p = self.start("--tls")
        crt = os.path.join(p.data_dir, "tls", "server.crt")
        out = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-fingerprint", "-sha256"],
                             capture_output=True, text=True, check=True).stdout
        fingerprint = out.strip().split("=", 1)[1]
        local = apbg.AccessServiceStub(p.local)
        token = local.CreateToken(apb.CreateTokenRequest(name="viewer", role=apb.ROLE_VIEWER)).token
        info = ppbg.PlantServiceStub(p.tls()).GetInfo(ppb.GetInfoRequest(), metadata=bearer(token))
        self.assertEqual(info.tls_fingerprint_sha256, fingerprint)
        # A plain-text client gets nothing from the TLS port.
        with self.assertRaises(grpc.RpcError) as cm:
            ppbg.PlantServiceStub(p.plain()).GetInfo(ppb.GetInfoRequest(), metadata=bearer(token),
                                                     timeout=3)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # The certificate is kept: the same fingerprint after a restart.
        p.stop()
        again = Plantd(p.data_dir, "--tls")
        try:
            info = ppbg.PlantServiceStub(again.tls()).GetInfo(ppb.GetInfoRequest(),
                                                              metadata=bearer(token))
            self.assertEqual(info.tls_fingerprint_sha256, fingerprint)
        finally:
            again.stop()

    def test_mutual_tls_maps_a_client_certificate_to_a_principal(self):
        d = os.path.join(self.tmp.name, "pki")
        os.makedirs(d, exist_ok=True)
        make_ca(d, "fleet-ca")
        make_ca(d, "rogue-ca")
        cloud = make_client(d, "fleet-ca", "cloud", "/O=Fleet/OU=service/CN=cloud-backend")
        viewer = make_client(d, "fleet-ca", "dashboard", "/O=Fleet/OU=viewer/CN=dashboard")
        rogue = make_client(d, "rogue-ca", "rogue", "/O=Fleet/OU=service/CN=cloud-backend")
        p = self.start("--client-ca", os.path.join(d, "fleet-ca.crt"))
        me = apbg.AccessServiceStub(p.tls(*cloud)).WhoAmI(apb.WhoAmIRequest())
        self.assertEqual((me.name, me.role, me.kind),
                         ("cert:cloud-backend", apb.ROLE_SERVICE,
                          apb.CREDENTIAL_KIND_CLIENT_CERTIFICATE))
        cpbg.ControlServiceStub(p.tls(*cloud)).SetMode(cpb.SetModeRequest(mode=cfgpb.WORKING_MODE_SELF_CONSUMPTION))
        with self.assertRaises(grpc.RpcError) as cm:
            cpbg.ControlServiceStub(p.tls(*viewer)).SetMode(
                cpb.SetModeRequest(mode=cfgpb.WORKING_MODE_SELF_CONSUMPTION))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        with self.assertRaises(grpc.RpcError) as cm:
            apbg.AccessServiceStub(p.tls(*rogue)).WhoAmI(apb.WhoAmIRequest(), timeout=3)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # Without a certificate, a token still works over TLS.
        token = apbg.AccessServiceStub(p.local).CreateToken(
            apb.CreateTokenRequest(name="t", role=apb.ROLE_VIEWER)).token
        me = apbg.AccessServiceStub(p.tls()).WhoAmI(apb.WhoAmIRequest(), metadata=bearer(token))
        self.assertEqual(me.name, "token:t")

    def test_a_network_listener_is_tls_only_and_offers_no_health_or_reflection(self):
        Access.n += 1
        data = os.path.join(self.tmp.name, f"data{self.n}")
        proc = subprocess.Popen(
            [ARGS.plantd, "--config", ARGS.config, "--listen", "0.0.0.0:0", "--data-dir", data,
             "--log-level", "warn"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            m = re.search(r"and 0\.0\.0\.0:(\d+)", line)
            self.assertTrue(m, line)
            port = int(m.group(1))
            with open(os.path.join(data, "tls", "server.crt"), "rb") as f:
                creds = grpc.ssl_channel_credentials(root_certificates=f.read())
            tls = grpc.secure_channel(f"127.0.0.1:{port}", creds)
            with self.assertRaises(grpc.RpcError) as cm:
                ppbg.PlantServiceStub(tls).GetInfo(ppb.GetInfoRequest(), timeout=5)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            with self.assertRaises(grpc.RpcError) as cm:
                ppbg.PlantServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}")).GetInfo(
                    ppb.GetInfoRequest(), timeout=3)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
            health = tls.unary_unary("/grpc.health.v1.Health/Check")
            with self.assertRaises(grpc.RpcError) as cm:
                health(b"", timeout=5)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=20), 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--plantd", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    # The example's device ports are fixed: fresh ones, nothing else's plant.
    ARGS.config = free_port_config(ARGS.config)
    atexit.register(os.remove, ARGS.config)
    unittest.main(argv=[sys.argv[0], *rest])
