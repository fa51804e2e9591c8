"""A real Connect client against dossier-gateway: tests/connect/
connect_client.mjs (Node.js, @connectrpc/connect-node and
@bufbuild/protobuf from npm, versions pinned in tests/connect/
package-lock.json and installed by deploy/install-deps.sh with `npm ci`)
builds the service from Describe's descriptors at run time, with no
generated code, and calls the gateway in JSON, in binary and with GET.

Environment as tests/integration/test_gateway.py. By hand:
  DOSSIER_BIN_DIR=build/bin DOSSIER_PYTHONPATH=build/python:client/python \\
  DOSSIER_FIXTURE_DIR=tests/fixtures DOSSIER_SOURCE_DIR=. \\
      /usr/bin/python3 tests/integration/test_gateway_connect.py -v
"""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_gateway import GatewayCase  # noqa: E402

SOURCE_DIR = os.environ.get(
    "DOSSIER_SOURCE_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONNECT_DIR = os.path.join(SOURCE_DIR, "tests", "connect")


class ConnectClient(GatewayCase):

    def test_connect_node_client(self):
        node = shutil.which("node")
        self.assertIsNotNone(node, "no node: run deploy/install-deps.sh")
        self.assertTrue(
            os.path.isdir(os.path.join(CONNECT_DIR, "node_modules",
                                       "@connectrpc", "connect-node")),
            "no node_modules in tests/connect: run deploy/install-deps.sh "
            "(npm ci)")
        run = subprocess.run(
            [node, "connect_client.mjs",
             "http://127.0.0.1:%d" % self.gateway.port],
            cwd=CONNECT_DIR, capture_output=True, timeout=120)
        out = run.stdout.decode(errors="replace")
        self.assertEqual(run.returncode, 0,
                         out + run.stderr.decode(errors="replace"))
        self.assertIn("connect client: all checks passed", out)
        # The binary+get round really went out as HTTP GET.
        with open(self.gateway.log_path, encoding="utf-8") as f:
            log = f.read()
        self.assertIn(" GET /dossier.v1.Reports/Get?connect=v1", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
