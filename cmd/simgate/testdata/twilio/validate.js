// validate.js checks X-Twilio-Signature values with the twilio package's
// own validateRequest: stdin is a JSON array of {url, params, signature}
// (the requests simgate's callbacks made), stdout the array of results.
"use strict";
const twilio = require("twilio");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const token = process.env.TWILIO_AUTH_TOKEN;
  const out = JSON.parse(input).map((r) => twilio.validateRequest(token, r.signature, r.url, r.params));
  process.stdout.write(JSON.stringify(out) + "\n");
});
