// verify.js checks every captured webhook request with the Standard
// Webhooks reference library (npm "standardwebhooks"), not with simgate's
// own code. Input: a JSON file [{secret, headers, body}]; it exits non-zero
// naming the first request that does not verify.
"use strict";
const fs = require("fs");
const { Webhook } = require("standardwebhooks");
const reqs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let n = 0;
for (const r of reqs) {
  const wh = new Webhook(r.secret);
  try {
    const payload = wh.verify(r.body, r.headers);
    if (typeof payload.type !== "string" || !("data" in payload)) {
      throw new Error("payload lacks type or data");
    }
  } catch (e) {
    console.error(`request ${n} (${r.headers["webhook-id"]}): ${e.message}`);
    process.exit(1);
  }
  n++;
}
console.log(`verified ${n}`);
