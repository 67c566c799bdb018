// client.js drives simgate's Twilio-compatible Messages API with the
// official twilio npm package, as a shop plugin would, and prints one JSON
// object with what it saw for compat_e2e_test.go to check. It also checks
// signatures the Go side made (X-Twilio-Signature) with the package's own
// validateRequest.
//
// Environment: SIMGATE_URL (http://127.0.0.1:port), TWILIO_ACCOUNT_SID,
// TWILIO_AUTH_TOKEN, TO (a number), STATUS_CALLBACK (a URL), and
// SIGNED (JSON: [{url, params, signature}]) to verify.
"use strict";
const twilio = require("twilio");

async function main() {
  const sid = process.env.TWILIO_ACCOUNT_SID;
  const token = process.env.TWILIO_AUTH_TOKEN;
  const client = twilio(sid, token);
  // Point the API domain at the box instead of api.twilio.com.
  client.api.baseUrl = process.env.SIMGATE_URL;
  const out = { created: [], errors: {} };

  for (let i = 0; i < 3; i++) {
    const m = await client.messages.create({
      to: process.env.TO,
      from: "+12015550100",
      body: `Your order #${i} has shipped`,
      statusCallback: process.env.STATUS_CALLBACK,
    });
    out.created.push({ sid: m.sid, status: m.status, numSegments: m.numSegments, body: m.body,
      dateCreated: m.dateCreated.toISOString(), accountSid: m.accountSid, uri: m.uri });
  }
  const f = await client.messages(out.created[0].sid).fetch();
  out.fetched = { sid: f.sid, body: f.body, status: f.status };

  // Two per page: list follows next_page_uri to the limit.
  const listed = await client.messages.list({ pageSize: 2, limit: 3 });
  out.listed = listed.map((m) => m.sid);

  for (const [name, params] of Object.entries({
    invalidTo: { to: "12", body: "x" },
    emptyBody: { to: process.env.TO, body: " " },
  })) {
    try {
      await client.messages.create(params);
      out.errors[name] = "no error";
    } catch (e) {
      out.errors[name] = { code: e.code, status: e.status, moreInfo: e.moreInfo };
    }
  }
  const wrong = twilio(sid, "0".repeat(32));
  wrong.api.baseUrl = process.env.SIMGATE_URL;
  try {
    await wrong.messages.list({ limit: 1 });
    out.errors.auth = "no error";
  } catch (e) {
    out.errors.auth = { code: e.code, status: e.status };
  }

  out.signatures = JSON.parse(process.env.SIGNED || "[]").map((s) =>
    twilio.validateRequest(token, s.signature, s.url, s.params));
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
