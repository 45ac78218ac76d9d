#!/usr/bin/env node
// Serves @vercel/cosmosdb-server over HTTPS, behaving as Cosmos DB does where the server departs
// from it (each fix is tested in tests/azure/test_emulators.py):
//   - reading a missing item answers 404 NotFound (the server fails with 500);
//   - a transactional batch takes its partition key from the x-ms-documentdb-partitionkey
//     header, as the SDKs send it (the server reads it only from each operation, and fails);
//   - a transactional batch is atomic: when one operation fails, the ones before it are undone
//     and every other operation answers 424 Failed Dependency (the server keeps them applied).
// The certificate is made with openssl on first start and kept in tls/ (the package's own expired
// in 2021); clients on 127.0.0.1 verify the server against it. Usage: node cosmos.js [--host HOST] [--port PORT]; prints
// "Ready to accept HTTPS connections at HOST:PORT" once it listens (PORT 0: a free port).
"use strict";

const { execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const LIB = "@vercel/cosmosdb-server/lib";
const PARTITION_HEADER = "x-ms-documentdb-partitionkey";
const NOT_FOUND = { code: "NotFound", message: "Entity with the specified id does not exist in the system." };

// The handlers are patched before the routes table, which holds them, is first loaded.
const readDocument = require(`${LIB}/handler/read-document`);
const batchDocuments = require(`${LIB}/handler/batch-documents`);
const { parsePartitionKey } = require(`${LIB}/utils/get-partition-from-header`);
const json = require(`${LIB}/json`);

// A request whose body was read already, by the batch below, hands that to the server's handler.
const BODY = Symbol("fk-body");
const readJson = json.default;
json.default = async (req) => (req[BODY] !== undefined ? req[BODY] : readJson(req));

function partitionHeader(req) {
  const header = req.headers[PARTITION_HEADER];
  return Array.isArray(header) ? header[0] : header;
}

const readItem = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const header = partitionHeader(req);
  if (collection.read() && header) {
    let partition;
    try {
      partition = parsePartitionKey(header, params.docId);
    } catch (err) {
      res.statusCode = 400;
      return { code: "BadRequest", message: err.message };
    }
    if (!collection.document(params.docId, partition).read()) {
      res.statusCode = 404;
      return NOT_FOUND;
    }
  }
  return readItem(account, req, res, params);
};

function snapshot(items) {
  return { data: new Map(items._data), index: new Map(items._index), ridCount: items._ridCount };
}

function restore(items, saved) {
  items._data = saved.data;
  items._index = saved.index;
  items._ridCount = saved.ridCount;
}

const runBatch = batchDocuments.default;
batchDocuments.default = async (account, req, res, params) => {
  const operations = await readJson(req);
  const header = partitionHeader(req);
  if (Array.isArray(operations) && header) {
    for (const operation of operations) {
      if (operation && operation.partitionKey === undefined) operation.partitionKey = header;
    }
  }
  req[BODY] = operations; // the server's handler reads the body again: it gets this one
  const collection = account.database(params.dbId).collection(params.collId);
  const items = collection.read() ? collection.documents : null;
  const saved = items ? snapshot(items) : null;
  const results = await runBatch(account, req, res, params);
  if (!Array.isArray(results)) return results;
  const failed = results.findIndex((result) => result.statusCode >= 400 && result.statusCode !== 424);
  if (failed < 0) return results;
  restore(items, saved);
  return results.map((result, index) =>
    index === failed ? result : { statusCode: 424, requestCharge: 0 }
  );
};


// The certificate and its key, made once with openssl into tls/ beside this file and kept, so that
// clients can trust it (faaskeeper_azure.settings verifies the emulator against tls/cert.pem).
// Made again when it is near its end; several servers started at once share one.
const TLS_DIR = path.join(__dirname, "tls");
const RENEW_AFTER_MS = 300 * 24 * 3600 * 1000;

function certificate() {
  const key = path.join(TLS_DIR, "key.pem");
  const cert = path.join(TLS_DIR, "cert.pem");
  try {
    if (Date.now() - fs.statSync(cert).mtimeMs < RENEW_AFTER_MS) {
      return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
    }
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
  const dir = fs.mkdtempSync(path.join(__dirname, ".tls-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"),
       "-out", path.join(dir, "cert.pem"), "-days", "365",
       "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      { stdio: ["ignore", "ignore", "pipe"] }
    );
    fs.rmSync(TLS_DIR, { recursive: true, force: true });
    try {
      fs.renameSync(dir, TLS_DIR);
    } catch (err) {
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err; // another server made one first
    }
    return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
  } catch (err) {
    const reason = err.code === "ENOENT" ? "openssl is not installed" : String(err.stderr || err.message).trim();
    throw new Error(`cannot make the emulator's certificate: ${reason}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function parseArgs(argv) {
  const args = { host: "127.0.0.1", port: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--host") args.host = argv[++i];
    else if (argv[i] === "--port") args.port = parseInt(argv[++i], 10);
    else throw new Error(`unknown argument ${argv[i]} (usage: node cosmos.js [--host HOST] [--port PORT])`);
  }
  return args;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const { createHttpsServer } = require(LIB); // after the patches: its routes hold the handlers
  const server = createHttpsServer({ ...certificate(), keepAlive: true });
  server.keepAliveTimeout = 60000;
  server.listen(args.port, args.host, () => {
    const { port } = server.address();
    console.log(`Ready to accept HTTPS connections at ${args.host}:${port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

try {
  main();
} catch (err) {
  console.error(`cosmos.js: ${err.message}`);
  process.exit(1);
}
