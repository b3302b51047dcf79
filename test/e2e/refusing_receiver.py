#!/usr/bin/python3
"""A remote-write receiver that answers every write with one status (argv[1]).

Prints "port N" when listening, then one line per request: method, path, the
Authorization header and the Content-Encoding. For the answers a real
receiver does not give to valid data (400), and to see the headers sent.
"""
import http.server
import sys

STATUS = int(sys.argv[1])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        auth = self.headers.get("Authorization", "-")
        print(f"POST {self.path} {auth} {self.headers.get('Content-Encoding', '-')}", flush=True)
        body = b"refused on purpose\n"
        self.send_response(STATUS)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
