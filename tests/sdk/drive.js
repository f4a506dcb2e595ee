// Drives a running epilot-mock with epilot's published SDK clients, the way a front end does:
// getClient(), defaults.baseURL, calls by operationId, errors read from err.response.
// Usage: node drive.js <base-url> [api ...]   (apis: customer-portal entity pricing; default: all)
// Prints one JSON line per flow: {"api", "flow", "ok", "error"?}. Exit code 1 when a flow failed.
'use strict';

const assert = require('node:assert/strict');

const FLOWS = {
  'customer-portal': require('./flows/portal'),
  entity: require('./flows/entity'),
  pricing: require('./flows/pricing'),
};

function client(pkg, baseURL, token) {
  const api = require(pkg).getClient();
  api.defaults.baseURL = baseURL;
  api.defaults.validateStatus = (status) => status >= 200 && status < 300;
  api.defaults.maxRedirects = 0;
  if (token) api.defaults.headers.common.Authorization = `Bearer ${token}`;
  return api;
}

// An SDK call that must fail: returns the axios error's response (status, data) as the SDK sees it.
async function failure(promise) {
  try {
    const res = await promise;
    throw new assert.AssertionError({ message: `expected an error, got ${res.status}` });
  } catch (err) {
    if (!err.response) throw err;
    return err.response;
  }
}

async function main() {
  const [baseURL, ...wanted] = process.argv.slice(2);
  const tokens = JSON.parse(process.env.EPILOT_MOCK_TOKENS || '{}');
  const ctx = { baseURL, tokens, client: (pkg, token) => client(pkg, baseURL, token), failure, assert };
  let failed = 0;
  for (const [api, flows] of Object.entries(FLOWS)) {
    if (wanted.length && !wanted.includes(api)) continue;
    for (const [name, flow] of Object.entries(flows)) {
      try {
        await flow(ctx);
        console.log(JSON.stringify({ api, flow: name, ok: true }));
      } catch (err) {
        failed += 1;
        const detail = err.response ? `${err.response.status} ${JSON.stringify(err.response.data)}` : '';
        console.log(JSON.stringify({ api, flow: name, ok: false, error: `${err.message} ${detail}`.trim() }));
      }
    }
  }
  process.exitCode = failed ? 1 : 0;
}

main();
