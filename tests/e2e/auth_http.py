#!/usr/bin/python3
"""auth_http.py PORT UPSTREAM_PORT [ALT_PORT]: nginx's auth_http responder for
tests: any user with password "secret" is sent to 127.0.0.1:UPSTREAM_PORT;
with password "secret.alt" to ALT_PORT, a second upstream for the same nginx
(the password is all nginx passes of an authenticated client's choosing)."""
import http.server
import sys

port, upstream = int(sys.argv[1]), sys.argv[2]
alt = sys.argv[3] if len(sys.argv) > 3 else upstream


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        password = self.headers.get("Auth-Pass")
        ok = password in ("secret", "secret.alt")
        self.send_response(200)
        if ok:
            self.send_header("Auth-Status", "OK")
            self.send_header("Auth-Server", "127.0.0.1")
            self.send_header("Auth-Port", alt if password == "secret.alt" else upstream)
        else:
            self.send_header("Auth-Status", "Invalid login or password")
            self.send_header("Auth-Wait", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
