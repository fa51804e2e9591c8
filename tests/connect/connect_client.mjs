// connect_client.mjs: a real Connect client (@connectrpc/connect-node)
// against dossier-gateway, with no generated code: the service and its
// messages come from the FileDescriptorSet that Describe returns.
//
//   node tests/connect/connect_client.mjs http://127.0.0.1:PORT
//
// Run by tests/integration/test_gateway_connect.py, which starts dossierd
// and the gateway. Calls every kind of thing a client does, in JSON, in
// binary and with HTTP GET: a write, reads, a search, the errors
// not_found and aborted (with the current version in the error's
// UInt64Value detail). Prints one line per check; exits 1 on the first
// failure.
import assert from "node:assert/strict";

import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorSetSchema,
  UInt64ValueSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

const baseUrl = process.argv[2];
if (!baseUrl) {
  console.error("usage: node connect_client.mjs http://HOST:PORT");
  process.exit(2);
}

// Bootstrap: Describe through plain fetch, as curl would.
const described = await fetch(`${baseUrl}/dossier.v1.Reports/Describe`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: "{}",
});
assert.equal(described.status, 200);
const { fileDescriptorSet } = await described.json();
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, Buffer.from(fileDescriptorSet, "base64")),
);
const Reports = registry.getService("dossier.v1.Reports");
assert.ok(Reports, "Describe has no dossier.v1.Reports");
const ReportSchema = registry.getMessage("dossier.v1.Report");

async function check(label, fn) {
  try {
    await fn();
    console.log(`ok ${label}`);
  } catch (e) {
    console.error(`FAILED ${label}: ${e.stack || e}`);
    process.exit(1);
  }
}

async function expectCode(promise, code) {
  try {
    await promise;
  } catch (e) {
    const err = ConnectError.from(e);
    assert.equal(err.code, code, `got ${Code[err.code]}: ${err.rawMessage}`);
    return err;
  }
  assert.fail(`expected ${Code[code]}, the call succeeded`);
}

for (const [label, options] of [
  ["json", { useBinaryFormat: false }],
  ["binary", { useBinaryFormat: true }],
  ["binary+get", { useBinaryFormat: true, useHttpGet: true }],
]) {
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    ...options,
  });
  const client = createClient(Reports, transport);
  const id = `connect-${label.replace("+", "-")}`;

  await check(`${label}: Put`, async () => {
    const reply = await client.put({
      report: create(ReportSchema, {
        id,
        title: "2019 Trafficking in Persons Report - Azerbaijan",
        country: "Azerbaijan",
        countryCode: "AZE",
        year: 2019,
        tier: 2, // TIER_2
        docType: "Trafficking in Persons Report",
        body: ["Forced labor in the cotton harvest.", "Second paragraph."],
      }),
    });
    assert.equal(reply.id, id);
    assert.equal(reply.version, 1n);
  });
  await check(`${label}: Get`, async () => {
    const report = await client.get({ id });
    assert.equal(report.country, "Azerbaijan");
    assert.equal(report.body[0], "Forced labor in the cotton harvest.");
    assert.equal(report.version, 1n);
  });
  await check(`${label}: Search`, async () => {
    const reply = await client.search({ query: "cotton harvest" });
    assert.ok(reply.hits.some((h) => h.report.id === id));
  });
  await check(`${label}: WhoAmI`, async () => {
    const me = await client.whoAmI({});
    assert.equal(me.name, "anonymous");
  });
  await check(`${label}: not_found`, async () => {
    await expectCode(client.get({ id: `${id}-none` }), Code.NotFound);
  });
  await check(`${label}: aborted carries the current version`, async () => {
    const err = await expectCode(
      client.delete({ id, expectedVersion: 9n }),
      Code.Aborted,
    );
    const [current] = err.findDetails(UInt64ValueSchema);
    assert.equal(current.value, 1n);
  });
  await check(`${label}: Delete`, async () => {
    const reply = await client.delete({ id, expectedVersion: 1n });
    assert.equal(reply.id, id);
  });
}
console.log("connect client: all checks passed");
